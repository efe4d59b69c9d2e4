/**
 * A run cut short by the process, as an operator sees it: SIGTERM (a clean
 * shutdown) and SIGKILL (a crash) both leave the run recorded as interrupted,
 * and a restart with `--resume-interrupted` runs it again to the end. On
 * SIGTERM, open streams hear `run_interrupted` before they close.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventLog } from '../http/sse-client.js';
import { startCli, type RunningCli } from './run.js';

let dir: string;
const running: RunningCli[] = [];
const streams: EventLog[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bamboo-restart-'));
});
afterEach(async () => {
  for (const stream of streams.splice(0)) stream.es.close();
  for (const cli of running.splice(0)) await cli.stop('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(dbPath: string, args: string[] = []) {
  const cli = await startCli(['--port', '0', ...args], { BAMBOO_DB: dbPath, BAMBOO_TOKEN_DELAY_MS: '0' });
  running.push(cli);
  return cli;
}

async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const reply = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: reply.status, body: await reply.json() };
}

async function session(base: string, id: string): Promise<any> {
  return ((await (await fetch(`${base}/api/v1/sessions/${id}`)).json()) as { session: unknown }).session;
}

describe('a run interrupted by the process', () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)('after %s, a restart with --resume-interrupted runs it again to completion', async (signal) => {
    const dbPath = join(dir, `${signal}.db`);
    const first = await start(dbPath);
    const created = await post(`${first.url}/api/v1/sessions`, {});
    const id = created.body.session.id as string;
    const stream = new EventLog(`${first.url}/api/v1/sessions/${id}/events?after=0`);
    streams.push(stream);
    const sent = await post(`${first.url}/api/v1/sessions/${id}/messages`, { content: '/sleep 1500' });
    expect(sent.status).toBe(202);
    const runId = sent.body.run_id as string;
    await expect.poll(() => stream.received.some((event) => event.type === 'run_started')).toBe(true);

    const finished = await first.stop(signal);
    if (signal === 'SIGTERM') {
      expect(finished.code).toBe(0);
      // The stream heard the interruption, then the server closed it.
      expect(stream.received.filter((event) => event.connection === 1).map((event) => event.type)).toContain('run_interrupted');
      expect(stream.received.find((event) => event.type === 'run_interrupted')!.data).toMatchObject({ run_id: runId });
      expect(first.entries().at(-1)).toMatchObject({ interrupted: 1 });
    } else {
      expect(finished.signal).toBe('SIGKILL');
    }
    stream.es.close();

    const second = await start(dbPath, ['--resume-interrupted']);
    await expect.poll(async () => (await session(second.url, id)).state, { timeout: 10_000 }).toBe('completed');
    const after = await session(second.url, id);
    expect(after.last_run.status).toBe('completed');
    expect(after.last_run.id).not.toBe(runId);
    const { events } = (await (await fetch(`${second.url}/api/v1/sessions/${id}/events?after=0`, { headers: { accept: 'application/json' } })).json()) as {
      events: { type: string; run_id?: string }[];
    };
    const runs = events.filter((event) => event.type === 'run_started' || event.type === 'run_interrupted' || event.type === 'run_completed');
    expect(runs.map((event) => event.type)).toEqual(['run_started', 'run_interrupted', 'run_started', 'run_completed']);
  });
});
