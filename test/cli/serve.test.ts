/**
 * `bamboo-server` as an operator runs it: it starts on PORT=0 and prints where
 * it is, serves the API and the console, keeps credentials out of its logs, and
 * on SIGTERM stops, saying what it interrupted.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ROOT, spawnCli, startCli, type RunningCli } from './run.js';

let dir: string;
const running: RunningCli[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bamboo-serve-'));
});
afterEach(async () => {
  for (const cli of running.splice(0)) await cli.stop('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(args: string[], env: Record<string, string>) {
  const cli = await startCli(args, env);
  running.push(cli);
  return cli;
}

describe('bamboo-server', () => {
  it('starts on PORT=0, logs where it is, serves, and stops on SIGTERM', async () => {
    const dbPath = join(dir, 'nested', 'bamboo.db');
    const cli = await start(['--port', '0'], { BAMBOO_DB: dbPath, BAMBOO_TOKEN_DELAY_MS: '0' });
    expect(cli.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const started = cli.entries().find((entry) => entry.url === cli.url)!;
    expect(started).toMatchObject({ store: dbPath, agents: ['demo'], defaultAgent: 'demo', console: `${cli.url}/`, level: 30 });
    expect(existsSync(dbPath)).toBe(true);

    expect((await fetch(`${cli.url}/healthz`)).status).toBe(200);
    const page = await fetch(`${cli.url}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    const created = await fetch(`${cli.url}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(created.status).toBe(201);

    const finished = await cli.stop('SIGTERM');
    expect(finished.code).toBe(0);
    expect(finished.stderr).toBe('');
    const messages = cli.entries().map((entry) => entry.msg);
    expect(messages).toContain('shutting down');
    expect(cli.entries().at(-1)).toMatchObject({ interrupted: 0, msg: 'stopped; no run was in progress' });
    // Every line names the instance, once, so several instances' logs can be merged.
    expect(started.instance).toMatch(/^\S+-\d+-/);
    for (const entry of cli.entries()) expect(entry.instance, String(entry.msg)).toBe(started.instance);
    for (const line of cli.output.stdout.split('\n').filter((text) => text.startsWith('{'))) expect(line.match(/"instance":/g)).toHaveLength(1);
  });

  it('stops on SIGTERM also when the reader of its stdout has gone (`| head -1`, a crashed log shipper)', async () => {
    const cli = await start(['--port', '0'], { BAMBOO_DB: ':memory:' });
    // The reader goes: the server's next log write meets a closed pipe.
    cli.child.stdout!.destroy();
    expect((await fetch(`${cli.url}/healthz`)).status).toBe(200);
    const finished = await cli.stop('SIGTERM');
    // Not killed by the 15 s fallback: it exited by itself.
    expect([finished.signal, finished.code]).toEqual([null, 0]);
  });

  it('`npm start` stops with the server when a process manager sends SIGTERM to npm', async () => {
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', PORT: '0', BAMBOO_DB: ':memory:', BAMBOO_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // A group of its own, so the clean-up reaches whatever npm started, even if it outlived npm.
      detached: true,
    });
    let stdout = '';
    npm.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise((resolve) => npm.once('exit', resolve));
    try {
      await expect.poll(() => /"url":"(http:[^"]+)"/.exec(stdout)?.[1], { timeout: 60_000 }).toBeTruthy();
      const url = /"url":"(http:[^"]+)"/.exec(stdout)![1]!;
      npm.kill('SIGTERM');
      await exited;
      // The server itself stopped (it said so), not only npm: nothing answers on its port.
      await expect.poll(() => stdout, { timeout: 10_000 }).toContain('"msg":"stopped');
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      try {
        process.kill(-npm.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });

  it('reports the runs a shutdown interrupted', async () => {
    const cli = await start([], { PORT: '0', BAMBOO_DB: ':memory:' });
    const created = (await (await fetch(`${cli.url}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as {
      session: { id: string };
    };
    const sent = await fetch(`${cli.url}/api/v1/sessions/${created.session.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: '/sleep 30000' }),
    });
    expect(sent.status).toBe(202);
    const finished = await cli.stop('SIGINT');
    expect(finished.code).toBe(0);
    expect(cli.entries().at(-1)).toMatchObject({ level: 40, interrupted: 1, msg: expect.stringContaining('interrupted 1 run,') });
  });

  it('never logs credentials: request headers and secret settings are redacted', async () => {
    const cli = await start([], {
      PORT: '0',
      BAMBOO_DB: ':memory:',
      BAMBOO_LOG_LEVEL: 'debug',
      OPENAI_API_KEY: 'sk-very-secret-key',
      OPENAI_BASE_URL: 'http://user:secret-in-url@127.0.0.1:9/v1',
    });
    await fetch(`${cli.url}/api/v1/sessions`, {
      headers: { authorization: 'Bearer secret-bearer', cookie: 'sid=secret-cookie', 'x-api-key': 'secret-api-key', 'x-trace': 'visible' },
    });
    // The request line is lean: method, path, status, duration and id; no headers, no body.
    const request = await cli.waitForEntry((entry) => entry.msg === 'request');
    expect(Object.keys(request).sort()).toEqual(['hostname', 'instance', 'level', 'method', 'ms', 'msg', 'path', 'pid', 'req_id', 'status', 'time']);
    expect(request).toMatchObject({ method: 'GET', path: '/api/v1/sessions', status: 200 });
    const config = await cli.waitForEntry((entry) => entry.msg === 'configuration');
    expect(config).toMatchObject({ config: { OPENAI_API_KEY: '[redacted]', OPENAI_BASE_URL: '[redacted]', PORT: 0 } });
    expect(cli.entries().find((entry) => entry.url === cli.url)).toMatchObject({ agents: ['demo', 'openai'] });
    await cli.stop();
    expect(cli.output.stdout).not.toMatch(/secret/);
  });

  it('writes readable lines with BAMBOO_LOG_FORMAT=pretty', async () => {
    const cli = await startCliPretty();
    expect(cli.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}Bamboo Server \S+ listening on http:\/\/127\.0\.0\.1:\d+ .*store=:memory: agents=demo/m);
    expect(cli.stdout.split('\n').filter((line) => line.startsWith('{'))).toEqual([]);
  });

  it('--inspect starts the inspector and prints its URL with the token', async () => {
    const cli = await start(['--inspect', '--inspect-port', '0'], { PORT: '0', BAMBOO_DB: ':memory:' });
    const line = cli.entries().find((entry) => typeof entry.ws === 'string')!;
    expect(line.msg).toContain(String(line.inspector));
    expect(String(line.ws)).toMatch(/\?token=[\w-]{32}$/);
    const socket = new WebSocket(String(line.ws));
    const received: string[] = [];
    socket.on('message', (data) => received.push(String(data)));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    // The state-count store is registered at start and replayed to a new viewer.
    await expect.poll(() => received.some((message) => message.includes('session-index'))).toBe(true);
    socket.close();
    const refused = await fetch(String(line.inspector).replace(/\?token=.*/, ''));
    expect(refused.status).toBe(401);
  });
});

/** Pretty output is chosen on a terminal or when asked: start with it asked, read the listening line, stop. */
async function startCliPretty(): Promise<{ stdout: string }> {
  const child = spawnCli([], { PORT: '0', BAMBOO_DB: ':memory:', BAMBOO_LOG_FORMAT: 'pretty' });
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise((resolve) => child.once('close', resolve));
  try {
    await expect.poll(() => stdout, { timeout: 20_000 }).toContain('listening on');
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return { stdout };
}
