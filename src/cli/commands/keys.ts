/**
 * `bamboo-server keys create|list|revoke`: API keys kept (hashed) in the
 * server's store. A new key is printed once, alone on stdout, so scripts can
 * capture it; only its hash is stored.
 */
import { generateKey, isTenantName } from '../../auth/keys.js';
import { openStore } from '../../storage/open-store.js';
import { DatabaseInUse } from '../../storage/sqlite/single-instance.js';
import type { KeyStore, ServerStore } from '../../storage/store.js';
import { databaseError, settingName } from '../checks.js';
import type { Command, CommandContext } from '../command.js';
import { ConfigError, parseArguments, parseFlags, resolveConfig } from '../config.js';

/** The shape of a key's id (never echo anything else: it could be a mistyped secret). */
const KEY_ID = /^key_[\w-]{1,64}$/;

const KEYS_HELP = 'bamboo-server keys --help';

const USAGE = `bamboo-server keys create --tenant NAME [--name LABEL] [--db PATH|URL]
bamboo-server keys list [--db PATH|URL]
bamboo-server keys revoke KEY_ID [--db PATH|URL]`;

export const keys: Command = {
  name: 'keys',
  usage: 'bamboo-server keys create|list|revoke …',
  summary: 'manage API keys in the store; a key is printed once, only its hash kept (keys --help)',
  async run(argv, context) {
    const [action, ...rest] = argv;
    if (rest.includes('--help') || rest.includes('-h')) return usage(context, 0);
    switch (action) {
      case 'create':
        return create(rest, context);
      case 'list':
        return list(rest, context);
      case 'revoke':
        return revoke(rest, context);
      case '--help':
      case '-h':
      case undefined:
        return usage(context, action === undefined ? 2 : 0);
      default:
        throw new ConfigError(`unknown keys action ${JSON.stringify(action)}; use create, list or revoke (see ${KEYS_HELP})`);
    }
  },
};

function usage(context: CommandContext, code: number): number {
  context.stdout.write(`Usage:\n${USAGE.replace(/^/gm, '  ')}\n`);
  return code;
}

async function create(argv: string[], context: CommandContext): Promise<number> {
  const flags = parseFlags(argv, { tenant: { type: 'string' }, name: { type: 'string' }, db: { type: 'string' } }, KEYS_HELP);
  const tenant = typeof flags.tenant === 'string' ? flags.tenant : '';
  if (!isTenantName(tenant)) throw new ConfigError("keys create needs --tenant NAME: letters, digits, '.', '_' or '-', up to 64 characters");
  const name = typeof flags.name === 'string' && flags.name.trim() !== '' ? flags.name.trim() : null;
  const { id, key, hash } = generateKey();
  await withStore(flags, context, (store) => store.createApiKey({ id, tenant, name, hash, created_at: new Date().toISOString() }));
  context.stderr.write(`Created API key ${id} for tenant ${tenant}${name ? ` (${name})` : ''}. It is shown once, below: keep it now; only its hash is stored.\n`);
  context.stdout.write(`${key}\n`);
  return 0;
}

async function list(argv: string[], context: CommandContext): Promise<number> {
  const flags = parseFlags(argv, { db: { type: 'string' } }, KEYS_HELP);
  const records = await withStore(flags, context, (store) => store.listApiKeys());
  const rows = [['ID', 'TENANT', 'NAME', 'CREATED', 'REVOKED'], ...records.map((r) => [r.id, r.tenant, r.name ?? '-', r.created_at, r.revoked_at ?? '-'])];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) context.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()}\n`);
  return 0;
}

async function revoke(argv: string[], context: CommandContext): Promise<number> {
  const { flags, positionals } = parseArguments(argv, { db: { type: 'string' } }, { help: KEYS_HELP });
  const [id, ...extra] = positionals;
  if (!id || extra.length > 0 || !KEY_ID.test(id)) throw new ConfigError('keys revoke needs one key id, key_… (see bamboo-server keys list)');
  const { revoked, kind, active } = await withStore(flags, context, async (store) => ({
    revoked: await store.revokeApiKey(id, new Date().toISOString()),
    kind: store.kind,
    active: (await store.listApiKeys()).filter((record) => !record.revoked_at).length,
  }));
  if (!revoked) throw new ConfigError(`no active API key with id ${id} (see bamboo-server keys list)`);
  // A SQLite file is never in use by a server here: its server reads the keys at its next start.
  const when = kind === 'postgres' ? 'servers stop accepting it within 10 s' : 'a server on this file refuses it from its next start';
  context.stderr.write(`Revoked API key ${id}; ${when}.\n`);
  if (active === 0) {
    // With no key left, a server is as open as out of the box: say so rather than let a revocation look like a lock.
    context.stderr.write(
      'It was the last active key in this database: from its next start, a server without BAMBOO_API_KEYS needs no key at all (and refuses a HOST other machines can reach); create another to keep the API closed.\n',
    );
  }
  return 0;
}

/** Opens the configured store for one action, then closes it. */
async function withStore<T>(flags: Record<string, string | boolean | undefined>, context: CommandContext, use: (store: KeyStore & Pick<ServerStore, 'kind'>) => Promise<T>): Promise<T> {
  const config = resolveConfig(flags, context.env);
  const path = config.BAMBOO_DB;
  if (path === ':memory:') throw new ConfigError(`${settingName('BAMBOO_DB')} is :memory:; keys must go to the database the server uses`);
  let store: ServerStore | undefined;
  try {
    ({ store } = await openStore(path, { instanceId: 'bamboo-server-keys' }));
    return await use(store);
  } catch (error) {
    if (error instanceof DatabaseInUse) {
      throw new ConfigError(`${error.path} is in use by ${error.holder}: stop that server to manage keys in this SQLite file, or give keys with BAMBOO_API_KEYS`);
    }
    const restated = databaseError(error, path);
    throw restated;
  } finally {
    await store?.close();
  }
}
