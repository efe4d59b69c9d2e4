/** `bamboo-server keys`: create prints a key once, list shows no secret, revoke ends it; a server on that database needs the key. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli } from './run.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function database(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bamboo-keys-'));
  dirs.push(dir);
  return join(dir, 'bamboo.db');
}

describe('bamboo-server keys', () => {
  it('create prints the key alone on stdout, once; list shows it without the secret; revoke ends it', async () => {
    const db = database();
    const created = await runCli(['keys', 'create', '--tenant', 'acme', '--name', 'ci'], { BAMBOO_DB: db });
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^bmb_[\w-]{43}$/);
    const id = /Created API key (key_[\w-]+) for tenant acme \(ci\)/.exec(created.stderr)?.[1];
    expect(id).toBeDefined();

    const listed = await runCli(['keys', 'list', '--db', db]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^ID\\s+TENANT\\s+NAME\\s+CREATED\\s+REVOKED\\n${id}\\s+acme\\s+ci\\s+\\S+\\s+-\\n$`));
    expect(listed.stdout + listed.stderr).not.toContain(key);
    expect(readFileSync(db).includes(Buffer.from(key))).toBe(false);

    // A server on that database requires the key.
    const server = await startCli([], { BAMBOO_DB: db, PORT: '0' });
    expect((await fetch(`${server.url}/api/v1/sessions`)).status).toBe(401);
    expect((await fetch(`${server.url}/api/v1/sessions`, { headers: { Authorization: `Bearer ${key}` } })).status).toBe(200);
    // One SQLite file, one process: keys are managed while the server is stopped.
    const busy = await runCli(['keys', 'list', '--db', db]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/in use by process \d+ .*stop that server to manage keys/);
    await server.stop();

    const revoked = await runCli(['keys', 'revoke', id!, '--db', db]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stderr).toContain(`Revoked API key ${id}; a server on this file refuses it from its next start.`);
    // The only key: without it a server needs none, which the command says rather than let it pass for a lock.
    expect(revoked.stderr).toContain('It was the last active key in this database');
    expect((await runCli(['keys', 'list', '--db', db])).stdout).toMatch(new RegExp(`${id}\\s+acme\\s+ci\\s+\\S+\\s+\\d{4}-`));
    // Flags may come first: the id is the argument that is not a flag's value.
    const again = await runCli(['keys', 'revoke', '--db', db, id!]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`no active API key with id ${id}`);
  });

  it('a key revoked while the server is stopped is refused from its next start; another key still works', async () => {
    const db = database();
    const create = async (tenant: string) => {
      const created = await runCli(['keys', 'create', '--tenant', tenant, '--db', db]);
      return { key: created.stdout.trim(), id: /Created API key (key_[\w-]+)/.exec(created.stderr)![1]! };
    };
    const [kept, gone] = [await create('acme'), await create('beta')];
    const revoked = await runCli(['keys', 'revoke', gone.id, '--db', db]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stderr).not.toContain('last active key');

    const server = await startCli([], { BAMBOO_DB: db, PORT: '0' });
    const status = async (key: string) => (await fetch(`${server.url}/api/v1/sessions`, { headers: { Authorization: `Bearer ${key}` } })).status;
    expect(await status(gone.key)).toBe(401);
    expect(await status(kept.key)).toBe(200);
    await server.stop();
  });

  it('refuses a bad tenant name, a missing action, a flag of the server and :memory: with one line and exit code 2', async () => {
    for (const [args, message] of [
      [['keys', 'create'], /needs --tenant NAME/],
      [['keys', 'create', '--tenant', 'not ok!'], /needs --tenant NAME/],
      [['keys', 'rotate'], /unknown keys action "rotate"/],
      [['keys', 'list', '--db', ':memory:'], /is :memory:/],
      [['keys', 'revoke'], /needs one key id/],
      // The server's flags are not the keys command's: the error points to the keys usage.
      [['keys', 'list', '--port', '5'], /unknown flag --port; see bamboo-server keys --help/],
      // Not an id: never echoed, since it could be a secret typed in the wrong place.
      [['keys', 'revoke', 'postgres://bamboo:s3cret@db.example/bamboo'], /needs one key id/],
    ] as const) {
      const finished = await runCli([...args], { BAMBOO_DB: database() });
      expect(finished.code, finished.stderr).toBe(2);
      expect(finished.stderr.trim().split('\n')).toHaveLength(1);
      expect(finished.stderr).toMatch(message);
      expect(finished.stderr).not.toContain('s3cret');
    }
  });

  it('--help after an action prints the keys usage and exits 0, touching no database', async () => {
    const [create, list] = await Promise.all([runCli(['keys', 'create', '--help']), runCli(['keys', 'list', '-h'], { BAMBOO_DB: ':memory:' })]);
    for (const finished of [create, list]) {
      expect(finished.code, finished.stderr).toBe(0);
      expect(finished.stdout).toContain('bamboo-server keys create --tenant NAME');
      expect(finished.stdout).toContain('bamboo-server keys revoke KEY_ID');
    }
  });

  it('a non-loopback HOST without keys is a configuration error that says how to add one', async () => {
    const finished = await runCli([], { HOST: '0.0.0.0', PORT: '0', BAMBOO_DB: ':memory:' });
    expect(finished.code).toBe(2);
    expect(finished.stderr).toMatch(/BAMBOO_API_KEYS.*keys create.*BAMBOO_ALLOW_UNAUTHENTICATED/);
    expect(finished.stderr).not.toMatch(/^\s+at /m);
  });
});
