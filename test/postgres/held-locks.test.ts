/**
 * An instance whose statements meet locks held by another connection (an
 * administrator's transaction, a stuck migration): requests answer 503 at the
 * statement's limit instead of hanging, a run whose commit cannot go through
 * is cut off and recorded interrupted once storage answers again, and once
 * the lock is released everything works as before.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { API, type Json, type Reply } from '../http/helpers.js';
import { createTestDatabase } from './database.js';
import { tokenOnCue } from '../runtime/cue-agent.js';
import { createSession, type Instance, sendMessage, startInstance, waitForSession } from './instances.js';

/** Short, so that the tests are: the server's limit on one statement. */
const LIMIT_MS = 500;
/** What a timer, a round trip and a loaded machine may add to a limit. */
const SLACK_MS = 3_000;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(options: Parameters<typeof startInstance>[2] = {}): Promise<{ instance: Instance; holder: pg.Client }> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const instance = await startInstance(db.url, 'instance-a', { statementTimeoutMs: LIMIT_MS, ...options });
  cleanups.push(() => instance.close());
  // Another connection to the same database, holding rows or tables while the instance works.
  const holder = new pg.Client({ connectionString: db.url });
  await holder.connect();
  cleanups.push(() => holder.end());
  return { instance, holder };
}

/** Holds the session's row until ROLLBACK, as an update in another transaction would. */
async function holdRow(holder: pg.Client, id: string): Promise<void> {
  await holder.query('BEGIN');
  await holder.query('SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', [id]);
}

async function timed(call: Promise<Reply>): Promise<Reply & { ms: number }> {
  const start = Date.now();
  const reply = await call;
  return Object.assign(reply, { ms: Date.now() - start });
}

function expectBusy(reply: Reply & { ms: number }): void {
  expect({ status: reply.status, code: reply.body.error?.code, retry: reply.headers.get('retry-after') }).toEqual({ status: 503, code: 'unavailable', retry: '5' });
  expect(reply.body.error.message).toMatch(/^Storage is busy/);
  expect(reply.ms).toBeLessThan(LIMIT_MS + SLACK_MS);
}

describe('statements that meet locks held elsewhere', () => {
  it('answer 503 at their limit, write nothing, and go through once the lock is released', async () => {
    const { instance, holder } = await setUp();
    const session = await createSession(instance);

    await holdRow(holder, session.id);
    expectBusy(await timed(sendMessage(instance, session.id, 'hello')));
    // Nothing was written, reads go on, and one held row is no outage: the instance stays ready.
    expect((await instance.call('GET', `${API}/sessions/${session.id}`)).body.session).toMatchObject({ state: 'idle', message_count: 0 });
    expect((await instance.call('GET', '/readyz')).status).toBe(200);
    await holder.query('ROLLBACK');

    // A whole table held: reads wait too, as long as their limit.
    await holder.query('BEGIN; LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE');
    expectBusy(await timed(instance.call('GET', `${API}/sessions`)));
    expectBusy(await timed(instance.call('POST', `${API}/sessions`, { json: {} })));
    await holder.query('ROLLBACK');

    expect((await sendMessage(instance, session.id, 'hello')).status).toBe(202);
    const done = await waitForSession(instance, session.id, (s) => s.state === 'completed');
    expect(done.message_count).toBe(2);
    expect((await instance.call('GET', `${API}/sessions`)).body.sessions).toHaveLength(1);
  });

  it("cut a run off when its commit cannot go through, and record it interrupted as soon as the lock is released", async () => {
    const cued = tokenOnCue();
    // A lease of a minute: the prompt record of a cut-off run, not the sweep of lapsed leases, must record it.
    const { instance, holder } = await setUp({ agents: { cued: cued.agent }, defaultAgent: 'cued', leaseMs: 60_000 });
    const session = await createSession(instance);
    const started = await sendMessage(instance, session.id, 'hello');
    expect(started.body.outcome).toBe('Started');
    await expect.poll(() => cued.runs.length).toBe(1);

    await holdRow(holder, session.id);
    const cuedAt = Date.now();
    cued.streamToken();
    // The token's commit passes its limit: the run is stopped, not left waiting on the lock.
    await expect.poll(() => cued.runs[0]!.aborted, { timeout: LIMIT_MS + SLACK_MS, interval: 20 }).toBe(true);
    expect(Date.now() - cuedAt).toBeGreaterThanOrEqual(LIMIT_MS - 50);
    // Attempts to record it meanwhile meet the lock too.
    await new Promise((resolve) => setTimeout(resolve, 2 * LIMIT_MS));
    await holder.query('ROLLBACK');
    const releasedAt = Date.now();

    const idle = await waitForSession(instance, session.id, (s) => s.state === 'idle', 5_000);
    expect(Date.now() - releasedAt).toBeLessThan(LIMIT_MS + SLACK_MS);
    expect(idle).toMatchObject({ has_pending_work: true, last_run: { id: started.body.run_id, status: 'interrupted' } });
    const types = ((await instance.call('GET', `${API}/sessions/${session.id}/events?after=0`)).body.events as Json[]).map((event) => event.type);
    // Nothing of the cut-off commit was stored, and the run is recorded once.
    expect(types).not.toContain('token');
    expect(types.filter((type) => type === 'run_interrupted')).toHaveLength(1);

    // Everything works again: the turn is resumed and answered.
    expect((await instance.call('POST', `${API}/sessions/${session.id}/resume`)).body.outcome).toBe('Started');
    const done = await waitForSession(instance, session.id, (s) => s.state === 'completed');
    expect(done.last_run.status).toBe('completed');
    expect(cued.runs).toHaveLength(2);
  });
});
