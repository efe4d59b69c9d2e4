/**
 * Checks before start-up, and start-up failures restated, so that a mistake in
 * the configuration reads as one line that names the setting and what to do.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseDamaged } from '../storage/sqlite/errors.js';
import { makeFolder } from '../storage/sqlite/folder.js';
import { isPostgresUrl, postgresUrlProblem, redactUrl, shownDatabase } from '../storage/postgres/connection.js';
import { DatabaseInUse } from '../storage/sqlite/single-instance.js';
import { SchemaTooNew, StorageUnavailable } from '../storage/store.js';
import { ConfigError } from './config.js';
import { SETTINGS, type Setting } from './settings.js';

/** `BAMBOO_DB (--db)`: how errors name a setting, both ways it can be given. */
export function settingName(variable: (typeof SETTINGS)[number]['variable']): string {
  const entry = (SETTINGS as readonly Setting[]).find((candidate) => candidate.variable === variable)!;
  return entry.flag ? `${entry.variable} (--${entry.flag})` : entry.variable;
}

/**
 * `npm start --port 8080`, without `--`, makes npm take `--port` for an option
 * of its own: npm keeps it (as `npm_config_port`) and passes on only `8080`,
 * or nothing at all for `--port=8080`. The server would start on the default
 * port, or refuse a stray argument, so this says how to pass the flag.
 */
export function checkFlagsTakenByNpm(env: Readonly<Record<string, string | undefined>>, argv: readonly string[]): void {
  const script = env.npm_lifecycle_event;
  if (script === undefined) return;
  for (const entry of SETTINGS as readonly Setting[]) {
    const value = entry.flag && env[`npm_config_${entry.flag.replace(/-/g, '_')}`];
    if (!value) continue;
    // The flag reached the server too (a script passing `--port $npm_config_port` on): nothing was lost.
    if (argv.some((arg) => arg === `--${entry.flag}` || arg.startsWith(`--${entry.flag}=`))) continue;
    // `--port 8080` leaves npm_config_port=true and passes `8080` on as the first argument.
    const first = argv[0] !== undefined && !argv[0].startsWith('-') ? argv[0] : undefined;
    const stray = first === undefined ? entry.value.placeholder : shownDatabase(first);
    const given = value === 'true' ? stray : shownDatabase(value);
    const passed = entry.value.isSwitch ? `--${entry.flag}` : `--${entry.flag} ${given}`;
    const rerun = script === 'start' ? 'npm start' : `npm run ${script}`;
    throw new ConfigError(`npm took --${entry.flag} for an option of its own and did not pass it on; put -- before the server's flags: ${rerun} -- ${passed}`);
  }
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOTDIR: 'part of the path is a file, not a folder',
  EEXIST: 'part of the path is a file, not a folder',
  ENOSPC: 'no space left on the device',
};

function reason(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  return (code && REASONS[code]) ?? message ?? String(error);
}

/** A PostgreSQL URL is well-formed; a SQLite path can be written. */
export function checkDatabase(db: string): void {
  if (!isPostgresUrl(db)) return checkDatabasePath(db);
  const problem = postgresUrlProblem(db.trim());
  if (problem) {
    throw new ConfigError(`${settingName('BAMBOO_DB')} ${redactUrl(db.trim())} ${problem}; give postgres://user[:password]@host:port/database, or a SQLite file path`);
  }
}

/** The database's folder exists (or is created) and can be written, and the file, if any, is a writable file. */
export function checkDatabasePath(path: string): void {
  if (path === ':memory:') return;
  const name = settingName('BAMBOO_DB');
  const file = resolve(path);
  const folder = dirname(file);
  const fix = `choose a writable path with ${name}, or :memory:`;
  try {
    makeFolder(folder);
    // SQLite also writes -wal and -shm files beside the database, so the folder must be writable, not only the file.
    accessSync(folder, constants.W_OK);
  } catch (error) {
    throw new ConfigError(`${name} ${file}: cannot write its folder ${folder} (${reason(error)}); ${fix}`);
  }
  let isFolder = false;
  try {
    isFolder = statSync(file).isDirectory();
    if (!isFolder) accessSync(file, constants.R_OK | constants.W_OK);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return;
    throw new ConfigError(`${name} ${file}: cannot read and write it (${reason(error)}); ${fix}`);
  }
  if (isFolder) throw new ConfigError(`${name} ${file} is a folder; give a file inside it, e.g. ${file}/bamboo.db`);
}

/** The default agent is one of the registered ones. */
export function checkAgent(agent: string, available: readonly string[]): void {
  if (available.includes(agent)) return;
  const hint = available.includes('openai') ? '' : ' (openai is registered when OPENAI_API_KEY or OPENAI_BASE_URL is set)';
  throw new ConfigError(`${settingName('BAMBOO_AGENT')} ${JSON.stringify(agent)} is not an agent; available: ${available.join(', ')}${hint}`);
}

/**
 * A failed `listen` as a configuration error when the setting is to blame
 * (port taken, privileged, address not of this machine); anything else is
 * returned as it is, for the caller to report as an internal failure.
 */
export function listenError(error: unknown, variable: 'PORT' | 'BAMBOO_INSPECT_PORT', port: number, host: string): unknown {
  const code = (error as { code?: string }).code;
  const name = settingName(variable);
  switch (code) {
    case 'EADDRINUSE':
      return new ConfigError(`${name} ${port} on ${host} is already in use: stop the other process, or choose another port with ${name} (0 picks a free one)`);
    case 'EACCES':
      return new ConfigError(`${name} ${port} on ${host} needs privileges this process lacks: choose a port above 1023 with ${name}`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConfigError(`${settingName('HOST')} ${host} is not an address of this machine: use 127.0.0.1, 0.0.0.0 or one of its interfaces' addresses`);
    default:
      return error;
  }
}

/** PostgreSQL refusing us at start as a configuration error, naming the URL without its password. */
function postgresError(error: unknown, url: string): unknown {
  const name = settingName('BAMBOO_DB');
  const shown = redactUrl(url.trim());
  if (error instanceof SchemaTooNew) return new ConfigError(`${name} ${shown}: ${error.message}`);
  const cause = error instanceof StorageUnavailable && error.cause !== undefined ? error.cause : error;
  const { code, message } = cause as { code?: string; message?: string };
  if (code === '3D000') return new ConfigError(`${name} ${shown}: ${message}; create it (createdb) or name an existing database`);
  if (code === '28P01' || code === '28000') return new ConfigError(`${name} ${shown}: ${message}; check the user and password`);
  if (error instanceof StorageUnavailable) {
    return new ConfigError(`${name} ${shown}: cannot connect (${code ?? message}); is PostgreSQL running there, and is the host and port right?`);
  }
  return error;
}

/** SQLite or PostgreSQL refusing the database as a configuration error; anything else is returned as it is. */
export function databaseError(error: unknown, path: string): unknown {
  if (isPostgresUrl(path)) return postgresError(error, path);
  const code = (error as { code?: string }).code;
  const name = settingName('BAMBOO_DB');
  const file = path === ':memory:' ? path : resolve(path);
  if (code === 'SQLITE_CORRUPT') return new ConfigError(`${name} ${new DatabaseDamaged(file, code).message}`);
  if (code === 'SQLITE_NOTADB') {
    return new ConfigError(`${name} ${file} is not a readable SQLite database: point ${name} at another file (or restore this one)`);
  }
  if (error instanceof DatabaseInUse || error instanceof DatabaseDamaged) return new ConfigError(`${name} ${error.message}`);
  if (error instanceof SchemaTooNew) return new ConfigError(`${name} ${file}: ${error.message}`);
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code === 'SQLITE_PERM') {
    return new ConfigError(`${name} ${file} cannot be opened for writing (${code}); choose a writable path with ${name}, or :memory:`);
  }
  return error;
}
