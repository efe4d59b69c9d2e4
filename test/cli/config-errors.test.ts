/**
 * Every configuration mistake ends `bamboo-server` with exit code 2 and one
 * readable line on stderr that names the setting (or file) and what to do,
 * never a stack trace; nothing is started.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFlagsTakenByNpm } from '../../src/cli/checks.js';
import { ROOT, runCli, STACK_LINE, type Finished } from './run.js';

let dir: string;
let taken: Server;
let takenPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bamboo-cli-'));
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  takenPort = (taken.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => taken.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh database path per case, so cases never share a file. */
const db = (name: string) => join(dir, `${name}.db`);

function expectConfigError(result: Finished, ...mentions: (string | RegExp)[]): string {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).not.toMatch(STACK_LINE);
  const lines = result.stderr.split('\n').filter(Boolean);
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^bamboo-server: /);
  for (const mention of mentions) expect(lines[0]).toMatch(mention);
  // Nothing started: no listening line, no log at all before the check.
  expect(result.stdout).not.toContain('listening');
  return lines[0]!;
}

describe.concurrent('configuration errors', () => {
  it('BAMBOO_WEBHOOK_URL without BAMBOO_WEBHOOK_SECRET', async () => {
    expectConfigError(await runCli([], { BAMBOO_WEBHOOK_URL: 'http://127.0.0.1:9/hooks', BAMBOO_DB: db('webhook') }), 'BAMBOO_WEBHOOK_URL needs BAMBOO_WEBHOOK_SECRET');
  });

  it('PORT=abc', async () => {
    expectConfigError(await runCli([], { PORT: 'abc', BAMBOO_DB: db('port') }), 'PORT', 'whole number from 0 to 65535', '"abc"');
  });

  it('--port 70000 names the flag', async () => {
    expectConfigError(await runCli(['--port', '70000'], { BAMBOO_DB: db('flag') }), '--port', '"70000"');
  });

  it('an unknown flag (also a near miss of --help)', async () => {
    expectConfigError(await runCli(['--hepl']), 'unknown flag --hepl', '--help');
    expectConfigError(await runCli(['--port', '1', '--nope=3']), 'unknown flag --nope');
  });

  it('a flag without its value, a switch with one, a stray argument, an unknown command', async () => {
    expectConfigError(await runCli(['--db']), '--db needs a value');
    expectConfigError(await runCli(['--inspect=yes']), '--inspect takes no value');
    expectConfigError(await runCli(['serve', 'extra']), 'unexpected argument extra');
    expectConfigError(await runCli(['nosuch']), 'unknown command "nosuch"', 'serve');
  });

  it('a switch given a value as a separate argument says the switch takes none', async () => {
    expectConfigError(await runCli(['--resume-interrupted', '1']), '--resume-interrupted takes no value (got "1")', 'BAMBOO_RESUME_INTERRUPTED');
  });

  it("a flag npm took for its own (npm start --port 8080, without --) says to put -- before it", async () => {
    // What npm passes on: the flag as npm_config_port (true when its value came apart), the value, if apart, as an argument.
    const npm = { npm_lifecycle_event: 'start' };
    expectConfigError(await runCli(['8080'], { ...npm, npm_config_port: 'true' }), 'npm took --port', 'npm start -- --port 8080');
    expectConfigError(await runCli([], { ...npm, npm_config_port: '8080' }), 'npm start -- --port 8080');
    expectConfigError(await runCli([], { ...npm, npm_config_inspect: 'true' }), /npm start -- --inspect$/);
    const line = expectConfigError(await runCli([], { npm_lifecycle_event: 'dev', npm_config_db: 'postgres://u:secret@127.0.0.1/x' }), 'npm run dev -- --db postgres://u:');
    expect(line).not.toContain('secret');
    // `--db URL`, apart: the URL comes on as an argument, and is shown without its password too.
    const apart = expectConfigError(await runCli(['postgres://u:secret@127.0.0.1/x'], { ...npm, npm_config_db: 'true' }), 'npm start -- --db postgres://u:');
    expect(apart).not.toContain('secret');
    // A script that passes the flag on itself (`bamboo-server --port $npm_config_port`) lost nothing.
    expect(() => checkFlagsTakenByNpm({ ...npm, npm_config_port: '4000' }, ['--port', '4000'])).not.toThrow();
    expect(() => checkFlagsTakenByNpm({ ...npm, npm_config_port: '4000' }, ['--port=4000'])).not.toThrow();
  });

  it('BAMBOO_AGENT=nosuch names the available agents', async () => {
    expectConfigError(await runCli([], { BAMBOO_AGENT: 'nosuch', BAMBOO_DB: db('agent') }), 'BAMBOO_AGENT', '"nosuch"', 'available: demo', 'OPENAI_API_KEY');
    const withOpenAI = await runCli(['--agent', 'nosuch'], { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', BAMBOO_DB: db('agent2') });
    expectConfigError(withOpenAI, 'available: demo, openai');
  });

  it('BAMBOO_LOG_LEVEL=verbose is checked before the logger exists', async () => {
    expectConfigError(await runCli([], { BAMBOO_LOG_LEVEL: 'verbose', BAMBOO_DB: db('level') }), 'BAMBOO_LOG_LEVEL', 'one of fatal, error, warn, info, debug, trace, silent');
    expectConfigError(await runCli(['--log-format', 'xml']), '--log-format', 'one of pretty, json');
  });

  it("the openai agent's settings", async () => {
    const line = expectConfigError(
      await runCli([], { OPENAI_API_KEY: 'sk-secret-value', BAMBOO_TEMPERATURE: '5', BAMBOO_DB: db('openai') }),
      'BAMBOO_TEMPERATURE',
      'from 0 to 2',
    );
    expect(line).not.toContain('sk-secret-value');
    // A secret is named, never repeated.
    const url = expectConfigError(await runCli([], { OPENAI_BASE_URL: 'not-a-url-secret', BAMBOO_DB: db('openai2') }), 'OPENAI_BASE_URL', 'http(s) URL');
    expect(url).not.toContain('not-a-url-secret');
  });

  it('a database path that cannot be written names the path and what to do', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a folder');
    const line = expectConfigError(await runCli([], { BAMBOO_DB: join(file, 'bamboo.db') }), 'BAMBOO_DB', join(file, 'bamboo.db'), 'writable path', ':memory:');
    expect(line).toContain('not a folder');
    expectConfigError(await runCli(['--db', join(file, 'deeper', 'x.db')]), '--db', join(file, 'deeper', 'x.db'));
  });

  it('a database URL of another scheme, or a misspelt one, is refused rather than made a file of that name; its password is not shown', async () => {
    for (const url of ['mysql://u:hunter2@127.0.0.1/db', 'postgress://u:hunter2@127.0.0.1:5432/db']) {
      const scheme = url.split(':')[0]!;
      const line = expectConfigError(await runCli(['--db', url]), '--db', 'postgres://', `${scheme}://`);
      expect(line).not.toContain('hunter2');
      expect(existsSync(join(ROOT, `${scheme}:`))).toBe(false);
    }
  });

  it('a database folder the system refuses to make, where a recursive mkdir would never return (under /proc)', async () => {
    expectConfigError(await runCli([], { BAMBOO_DB: '/proc/no-such-folder/bamboo.db' }), 'BAMBOO_DB', 'cannot write its folder /proc/no-such-folder', 'ENOENT');
  });

  it('a database path that is a folder, or a file that is not a database', async () => {
    const folder = join(dir, 'a-folder');
    mkdirSync(folder);
    expectConfigError(await runCli([], { BAMBOO_DB: folder }), 'BAMBOO_DB', `${folder} is a folder`);
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not SQLite, just text long enough to have a header page'.repeat(100));
    expectConfigError(await runCli([], { BAMBOO_DB: junk, PORT: '0' }), 'BAMBOO_DB', junk, 'not a readable SQLite database');
  });

  it('a database brought to a later schema by a newer server', async () => {
    const file = db('newer');
    const made = await runCli(['keys', 'list'], { BAMBOO_DB: file });
    expect(made.code, made.stderr).toBe(0);
    const sqlite = new Database(file);
    sqlite.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (999, ?)').run(new Date().toISOString());
    sqlite.close();
    expectConfigError(await runCli([], { BAMBOO_DB: file, PORT: '0' }), 'BAMBOO_DB', file, /schema version 999, newer than this server/);
  });

  it('a HOST that is not an address of this machine, even when serving without keys was allowed: no warning before the refusal', async () => {
    // 192.0.2.1 is reserved for documentation: never an address of this machine, and nothing is sent to it.
    const result = await runCli(['--host', '192.0.2.1', '--port', '0'], { BAMBOO_DB: db('host'), BAMBOO_ALLOW_UNAUTHENTICATED: '1' });
    expectConfigError(result, 'HOST (--host) 192.0.2.1 is not an address of this machine');
    expect(result.stdout).not.toContain('without API keys');
  });

  it('an inspector port already in use', async () => {
    const line = expectConfigError(
      await runCli(['--inspect'], { BAMBOO_INSPECT_PORT: String(takenPort), BAMBOO_DB: db('inspect'), PORT: '0' }),
      'BAMBOO_INSPECT_PORT',
      String(takenPort),
      'already in use',
    );
    expect(line).toContain('0 picks a free one');
  });

  it('a listening port already in use', async () => {
    expectConfigError(await runCli(['--port', String(takenPort)], { BAMBOO_DB: db('http') }), 'PORT', String(takenPort), 'already in use');
  });
});
