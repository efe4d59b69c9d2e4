/**
 * Two `bamboo-server` processes started as an operator would, on one
 * PostgreSQL database: they say which store they use (never its password),
 * and when the owner of a run is killed with SIGKILL, the survivor records the
 * run interrupted within about two leases, streams it, and can run it again.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli, STACK_LINE, type RunningCli } from '../cli/run.js';
import { API, call, type Json } from '../http/helpers.js';
import { createTestDatabase, urlOf, type TestDatabase } from './database.js';
import type { Frame } from './instances.js';

const LEASE_MS = 600;
const PASSWORD = 'pw-never-logged';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(db: TestDatabase, id: string): Promise<RunningCli & { url: string }> {
  const cli = await startCli(['--port', '0'], {
    BAMBOO_DB: urlOf(db.name, { password: PASSWORD }),
    BAMBOO_LEASE_MS: String(LEASE_MS),
    BAMBOO_INSTANCE_ID: id,
    BAMBOO_TOKEN_DELAY_MS: '0',
  });
  cleanups.push(() => cli.stop('SIGKILL'));
  return cli;
}

/** The SSE stream of a session, read with fetch. */
function stream(base: string, id: string): { frames: Frame[]; close: () => void } {
  const frames: Frame[] = [];
  const controller = new AbortController();
  void (async () => {
    const response = await fetch(`${base}${API}/sessions/${id}/events?after=0`, { headers: { Accept: 'text/event-stream' }, signal: controller.signal });
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += Buffer.from(chunk).toString();
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = /^data: (.*)$/m.exec(buffer.slice(0, end))?.[1];
        buffer = buffer.slice(end + 2);
        if (data) {
          const event = JSON.parse(data) as Json;
          frames.push({ id: event.seq, type: event.type, data: event, receivedAt: Date.now() });
        }
      }
    }
  })().catch(() => undefined);
  return { frames, close: () => controller.abort() };
}

describe('bamboo-server on PostgreSQL', () => {
  it('two processes: the survivor of a SIGKILL records the run interrupted within about two leases and resumes it', async () => {
    // Empty: the two processes create the tables as they start.
    const db = await createTestDatabase({ empty: true });
    cleanups.push(() => db.drop());
    const [a, b] = await Promise.all([serve(db, 'cli-a'), serve(db, 'cli-b')]);

    for (const [cli, id] of [[a, 'cli-a'], [b, 'cli-b']] as const) {
      const started = cli.entries().find((entry) => entry.url === cli.url)!;
      expect(started).toMatchObject({ storeKind: 'postgres', store: `postgres://postgres:***@127.0.0.1:5432/${db.name}`, instance: id });
      expect((await call(cli.url, 'GET', '/readyz')).body).toEqual({ ok: true, instance: id });
      expect((await call(cli.url, 'GET', '/metrics')).text).toContain(`instance_id="${id}"`);
    }

    const session = (await call(a.url, 'POST', `${API}/sessions`, { json: {} })).body.session;
    const live = stream(b.url, session.id);
    cleanups.push(async () => live.close());
    const sent = await call(a.url, 'POST', `${API}/sessions/${session.id}/messages`, { json: { content: '/sleep 1500' } });
    expect(sent.status).toBe(202);
    await expect.poll(() => live.frames.some((frame) => frame.type === 'run_started')).toBe(true);

    await a.stop('SIGKILL');
    const killedAt = Date.now();
    await expect.poll(() => live.frames.find((frame) => frame.type === 'run_interrupted'), { timeout: 5_000, interval: 10 }).toBeDefined();
    const after = Date.now() - killedAt;
    console.info(`SIGKILL of the owner: the survivor recorded the run interrupted after ${after} ms (lease ${LEASE_MS} ms)`);
    expect(after).toBeLessThan(4 * LEASE_MS);
    const interrupted = (await call(b.url, 'GET', `${API}/sessions/${session.id}`)).body.session;
    expect(interrupted).toMatchObject({ state: 'idle', has_pending_work: true, last_run: { status: 'interrupted', id: sent.body.run_id } });

    const resumed = await call(b.url, 'POST', `${API}/sessions/${session.id}/resume`);
    expect(resumed.body).toMatchObject({ outcome: 'Started' });
    await expect.poll(() => live.frames.at(-1)?.data.to, { timeout: 5_000 }).toBe('completed');
    expect(live.frames.map((frame) => frame.id)).toEqual(live.frames.map((_, i) => i + 1));
    const messages = (await call(b.url, 'GET', `${API}/sessions/${session.id}/messages`)).body.messages;
    expect(messages.at(-1)).toMatchObject({ role: 'assistant', content: 'Slept 1500 ms' });

    await b.stop('SIGTERM');
    expect(a.output.stdout + a.output.stderr + b.output.stdout + b.output.stderr).not.toContain(PASSWORD);
  });

  it('refuses a URL without a database, a server that does not answer, a missing database, a newer schema: one line each, exit code 2, no password', async () => {
    const cases: [string, RegExp][] = [
      ['postgres://postgres@127.0.0.1:5432', /names no database/],
      [`postgres://postgres:${PASSWORD}@127.0.0.1:1/bamboo`, /cannot connect \(ECONNREFUSED\); is PostgreSQL running there/],
      [`postgres://postgres:${PASSWORD}@127.0.0.1:5432/bamboo_missing_db`, /does not exist; create it/],
    ];
    // A database a newer server has migrated past this one's schema.
    const newer = await createTestDatabase();
    cleanups.push(() => newer.drop());
    const client = new pg.Client({ connectionString: newer.url });
    await client.connect();
    await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES (999, $1)', [new Date().toISOString()]);
    await client.end();
    cases.push([newer.url, /schema version 999, newer than this server/]);
    const results = await Promise.all(cases.map(([db]) => runCli(['--port', '0', '--db', db])));
    results.forEach((finished, i) => {
      expect(finished.code).toBe(2);
      expect(finished.stderr).toMatch(cases[i]![1]);
      expect(finished.stderr.trim().split('\n')).toHaveLength(1);
      expect(finished.stderr).toMatch(/^bamboo-server: BAMBOO_DB \(--db\) postgres:\/\//);
      expect(finished.stderr).not.toMatch(STACK_LINE);
      expect(finished.stdout + finished.stderr).not.toContain(PASSWORD);
    });
  });
});
