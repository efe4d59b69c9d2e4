/**
 * Two instances on one PostgreSQL database: one run per session across both,
 * streams, cancel and answers that cross from one to the other, idempotency
 * across instances, and an instance cut off from the database.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agents/agent.js';
import { API, type Json } from '../http/helpers.js';
import { createTestDatabase, urlOf, type TestDatabase } from './database.js';
import { createSession, gatedAgent, type Instance, openStream, sendMessage, startInstance, waitForSession } from './instances.js';
import { capture } from '../webhooks/helpers.js';
import { PgProxy } from './proxy.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  return db;
}

async function instance(url: string, id: string, options: Parameters<typeof startInstance>[2] = {}): Promise<Instance> {
  const started = await startInstance(url, id, options);
  cleanups.push(() => started.close());
  return started;
}

/** A and B on a fresh database. */
async function pair(options: Parameters<typeof startInstance>[2] = {}): Promise<{ a: Instance; b: Instance; db: TestDatabase }> {
  const db = await database();
  const [a, b] = await Promise.all([instance(db.url, 'instance-a', options), instance(db.url, 'instance-b', options)]);
  return { a, b, db };
}

async function events(instance: Instance, id: string): Promise<Json[]> {
  const reply = await instance.call('GET', `${API}/sessions/${id}/events?after=0&limit=1000`);
  expect(reply.status).toBe(200);
  return reply.body.events;
}

function expectGapFree(frames: { id: number; data: Json }[]): void {
  expect(frames.map((frame) => frame.id)).toEqual(frames.map((_, i) => i + 1));
  for (const frame of frames) expect(frame.data.seq).toBe(frame.id);
}

describe('two instances on one PostgreSQL database', () => {
  it('500 concurrent resumes split over both start exactly one run; every other answer names it; the agent runs once', async () => {
    const gated = gatedAgent();
    const { a, b } = await pair({ agents: { gated: gated.agent }, defaultAgent: 'gated' });
    const session = await createSession(a);
    expect((await sendMessage(b, session.id, 'go', { resume: false })).status).toBe(201);

    const replies = await Promise.all(Array.from({ length: 500 }, (_, i) => (i % 2 === 0 ? a : b).call('POST', `${API}/sessions/${session.id}/resume`)));
    const started = replies.filter((reply) => reply.body?.outcome === 'Started');
    expect(started).toHaveLength(1);
    const runId = started[0]!.body.run_id;
    const others = replies.filter((reply) => reply !== started[0]);
    expect(others.map((reply) => [reply.status, reply.body.outcome, reply.body.run_id]).filter(([status, outcome, id]) => status !== 200 || outcome !== 'AlreadyRunning' || id !== runId)).toEqual([]);

    gated.release();
    await waitForSession(b, session.id, (s) => s.state === 'completed');
    expect(gated.runs.map((run) => run.runId)).toEqual([runId]);
    expect((await events(a, session.id)).filter((event) => event.type === 'run_started')).toHaveLength(1);
  });

  it("streams A's run live on B, in order, without gaps or duplicates; Last-Event-ID replays on either", async () => {
    const tokens = 150;
    const ticker: Agent = {
      async run({ emit, signal }) {
        for (let i = 0; i < tokens; i++) {
          await new Promise((resolve) => setTimeout(resolve, 2));
          signal.throwIfAborted();
          void emit({ type: 'token', text: `t${i} ` });
        }
        return { kind: 'completed', message: Array.from({ length: tokens }, (_, i) => `t${i} `).join('') };
      },
    };
    const { a, b } = await pair({ agents: { ticker }, defaultAgent: 'ticker' });
    const session = await createSession(a);
    const live = openStream(b, session.id);
    cleanups.push(async () => live.close());
    await expect.poll(() => live.frames.length).toBe(1);

    expect((await sendMessage(a, session.id, 'go')).status).toBe(202);
    await expect.poll(() => live.frames.at(-1)?.type, { timeout: 10_000 }).toBe('state_changed');
    await waitForSession(a, session.id, (s) => s.state === 'completed');
    await expect.poll(() => live.frames.length).toBe((await events(a, session.id)).length);
    expectGapFree(live.frames);
    expect(live.frames.map((frame) => frame.data)).toEqual(await events(a, session.id));

    // The latency from A to B is measured by the benchmarks (npm run bench), not asserted here.
    expect(live.frames.filter((frame) => frame.type === 'token')).toHaveLength(tokens);

    for (const [on, from] of [[b, 40], [a, 100]] as const) {
      const replay = openStream(on, session.id, { 'Last-Event-ID': String(from) }, '');
      cleanups.push(async () => replay.close());
      await expect.poll(() => replay.frames.at(-1)?.id).toBe(live.frames.length);
      expect(replay.frames.map((frame) => frame.id)).toEqual(live.frames.slice(from).map((frame) => frame.id));
    }
  });

  it("an instance that starts while A runs leaves A's live lease alone; A's run goes on and completes", async () => {
    const gated = gatedAgent();
    const db = await database();
    const agents = { gated: gated.agent };
    const a = await instance(db.url, 'instance-a', { agents, defaultAgent: 'gated' });
    const session = await createSession(a);
    expect((await sendMessage(a, session.id, 'keep going')).status).toBe(202);
    await expect.poll(() => gated.runs.length).toBe(1);

    const late = await instance(db.url, 'instance-late', { agents, defaultAgent: 'gated', resumeInterrupted: true });
    // Two leases of renewals and recovery sweeps on both.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(await waitForSession(late, session.id, () => true)).toMatchObject({ state: 'running', last_run: { status: 'running' } });
    expect(gated.runs[0]!.signal.aborted).toBe(false);
    gated.release();
    await waitForSession(late, session.id, (s) => s.state === 'completed');
    expect(gated.runs).toHaveLength(1);
  });

  it("cancel on B stops A's run through its owner, and answers 200 Cancelled once that is durable", async () => {
    const gated = gatedAgent();
    const { a, b } = await pair({ agents: { gated: gated.agent }, defaultAgent: 'gated' });
    const session = await createSession(a);
    const started = await sendMessage(a, session.id, 'wait');
    expect(started.status).toBe(202);
    await expect.poll(() => gated.runs.length).toBe(1);

    const cancelled = await b.call('POST', `${API}/sessions/${session.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toEqual({ outcome: 'Cancelled', run_id: started.body.run_id });
    // The owner aborted the run itself (no storage fallback): its signal fired before B answered.
    expect(gated.runs[0]!.signal.aborted).toBe(true);
    const log = await events(b, session.id);
    expect(log.at(-2)).toMatchObject({ type: 'run_cancelled', run_id: started.body.run_id });
    expect(await waitForSession(a, session.id, (s) => s.state === 'idle')).toMatchObject({ last_run: { status: 'cancelled' } });
  });

  it("interrupt and rollback sent to the instance not running the session's run go ahead of its queue, as on the owner", async () => {
    const gated = gatedAgent();
    const { a, b } = await pair({ agents: { gated: gated.agent }, defaultAgent: 'gated' });
    const session = await createSession(a);
    expect((await sendMessage(a, session.id, 'wait')).status).toBe(202);
    await expect.poll(() => gated.runs.length).toBe(1);
    expect((await sendMessage(a, session.id, 'queued', { multitask_strategy: 'enqueue' })).body.outcome).toBe('Queued');

    // A runs the turn: B asks it to cancel, and the message runs next, on B, the queue behind it.
    const interrupted = await sendMessage(b, session.id, 'now please', { multitask_strategy: 'interrupt' });
    expect([interrupted.status, interrupted.body.outcome]).toEqual([202, 'Started']);
    expect(gated.runs[0]!.signal.aborted).toBe(true);
    await expect.poll(() => gated.runs.length).toBe(2);
    expect(await waitForSession(a, session.id, (s) => s.run_id === interrupted.body.run_id)).toMatchObject({ state: 'running', queued: [{ content: 'queued' }] });
    // Now B runs it: a rollback on A does the same the other way.
    const rolled = await sendMessage(a, session.id, 'rather', { multitask_strategy: 'rollback' });
    expect([rolled.status, rolled.body.outcome]).toEqual([202, 'Started']);
    expect(gated.runs[1]!.signal.aborted).toBe(true);
    expect(await waitForSession(b, session.id, (s) => s.run_id === rolled.body.run_id)).toMatchObject({ state: 'running', queued: [{ content: 'queued' }] });

    gated.release();
    await waitForSession(a, session.id, (s) => s.state === 'completed' && s.queued.length === 0 && s.message_count === 4);
    const transcript = await a.call('GET', `${API}/sessions/${session.id}/messages`);
    expect(transcript.body.messages.map((message: Json) => message.content)).toEqual(['rather', 'released', 'queued', 'released']);
  });

  it('an interrupt on B whose owner does not answer takes the run over in storage, as a cancel does, without waiting for the lease', async () => {
    const db = await database();
    const proxy = await PgProxy.start();
    cleanups.push(() => proxy.cut());
    const gated = gatedAgent();
    const options = { agents: { gated: gated.agent }, defaultAgent: 'gated', leaseMs: 60_000 };
    const a = await instance(urlOf(db.name, { port: proxy.port }), 'instance-a', options);
    const b = await instance(db.url, 'instance-b', options);
    const session = await createSession(a);
    const first = await sendMessage(a, session.id, 'stuck');
    await expect.poll(() => gated.runs.length).toBe(1);

    // A no longer hears anything: its lease has a minute left.
    await proxy.cut();
    const interrupted = await sendMessage(b, session.id, 'instead', { multitask_strategy: 'interrupt' });
    expect([interrupted.status, interrupted.body.outcome]).toEqual([202, 'Started']);
    await expect.poll(() => gated.runs.length).toBe(2);
    gated.release();
    const done = await waitForSession(b, session.id, (s) => s.state === 'completed');
    expect(done.last_run.id).toBe(interrupted.body.run_id);
    const log = await events(b, session.id);
    expect(log.filter((event) => event.type === 'run_cancelled').map((event) => event.run_id)).toEqual([first.body.run_id]);
  });

  it('a message queued through B with an Idempotency-Key is queued once: a retry on B or A replays the answer', async () => {
    const gated = gatedAgent();
    const { a, b } = await pair({ agents: { gated: gated.agent }, defaultAgent: 'gated' });
    const session = await createSession(a);
    await sendMessage(a, session.id, 'wait');
    await expect.poll(() => gated.runs.length).toBe(1);
    const send = (instance: Instance) =>
      instance.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'later', multitask_strategy: 'enqueue' }, headers: { 'Idempotency-Key': 'queue-once' } });
    const first = await send(b);
    expect([first.status, first.body.outcome]).toEqual([202, 'Queued']);
    for (const retry of [await send(b), await send(a)]) {
      expect([retry.status, retry.headers.get('idempotent-replayed'), retry.body]).toEqual([202, 'true', first.body]);
    }
    expect((await waitForSession(a, session.id, () => true)).queued).toHaveLength(1);
    gated.release();
  });

  it('an answer given on B resumes the question asked on A', async () => {
    const { a, b } = await pair();
    const session = await createSession(a);
    const live = openStream(a, session.id);
    cleanups.push(async () => live.close());
    expect((await sendMessage(a, session.id, '/ask Pick a colour | red | blue')).status).toBe(202);
    const waiting = await waitForSession(b, session.id, (s) => s.state === 'awaitingUser');

    const answered = await b.call('POST', `${API}/sessions/${session.id}/respond`, { json: { question_id: waiting.pending_question.id, answer: 'red' } });
    expect(answered.status).toBe(202);
    expect(answered.body).toMatchObject({ outcome: 'Started' });
    await waitForSession(a, session.id, (s) => s.state === 'completed');
    const messages = await a.call('GET', `${API}/sessions/${session.id}/messages`);
    expect(messages.body.messages.at(-1)).toMatchObject({ role: 'assistant', content: 'You answered: red' });
    // A's stream saw B's run too.
    await expect.poll(() => live.frames.at(-1)?.data.to).toBe('completed');
    expectGapFree(live.frames);
  });

  it('a live-only stream on B starts at the end of the log, even where B holds an outdated copy of the session', async () => {
    const { a, b } = await pair();
    const session = await createSession(a);
    // B hosts the session as it was then…
    expect((await b.call('POST', `${API}/sessions/${session.id}/resume`)).body.outcome).toBe('Completed');
    // …and A moves it on.
    expect((await sendMessage(a, session.id, 'first turn')).status).toBe(202);
    await waitForSession(a, session.id, (s) => s.state === 'completed');
    const logged = (await events(a, session.id)).length;

    const live = openStream(b, session.id, {}, '');
    cleanups.push(async () => live.close());
    await expect.poll(() => b.server.runtime.stats().subscribers).toBe(1);
    expect((await sendMessage(a, session.id, 'second turn')).status).toBe(202);
    await expect.poll(() => live.frames.at(-1)?.data.to).toBe('completed');
    expect(live.frames[0]!.id).toBe(logged + 1);
    expect(live.frames.map((frame) => frame.id)).toEqual(live.frames.map((_, i) => logged + 1 + i));
  });

  it("a deletion on A ends B's streams with session_deleted after the last event", async () => {
    const { a, b } = await pair();
    const session = await createSession(a);
    expect((await sendMessage(a, session.id, 'hello')).status).toBe(202);
    await waitForSession(a, session.id, (s) => s.state === 'completed');
    const stream = openStream(b, session.id);
    cleanups.push(async () => stream.close());
    const logged = (await events(b, session.id)).length;
    await expect.poll(() => stream.frames.length).toBe(logged);

    expect((await a.call('DELETE', `${API}/sessions/${session.id}`)).status).toBe(204);
    await expect.poll(() => stream.frames.at(-1)?.type).toBe('session_deleted');
    expect(stream.frames.at(-1)!.id).toBe(logged + 1);
    expect((await b.call('GET', `${API}/sessions/${session.id}`)).status).toBe(404);
  });

  it('one Idempotency-Key sent to both at once does the work once, and losing its race is no error in the logs', async () => {
    const { logger, lines } = capture();
    const { a, b } = await pair({ logger });
    const headers = { 'Idempotency-Key': 'create-once' };
    const created = await Promise.all([a, b].map((on) => on.call('POST', `${API}/sessions`, { json: { title: 'once' }, headers })));
    expect(created.map((reply) => reply.status)).toEqual([201, 201]);
    expect(created[0]!.body.session.id).toBe(created[1]!.body.session.id);
    const listed = await b.call('GET', `${API}/sessions?limit=10`);
    expect(listed.body.sessions).toHaveLength(1);

    const id = created[0]!.body.session.id;
    // Those that lose the session's version on the other instance, not the key, are answered with the first response too.
    const sent = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? a : b).call('POST', `${API}/sessions/${id}/messages`, { json: { content: 'once' }, headers: { 'Idempotency-Key': 'message-once' } }),
      ),
    );
    expect(sent.map((reply) => reply.status)).toEqual(sent.map(() => 202));
    expect(new Set(sent.map((reply) => reply.body.message.id)).size).toBe(1);
    await waitForSession(a, id, (s) => s.state === 'completed');
    const messages = await b.call('GET', `${API}/sessions/${id}/messages`);
    expect(messages.body.messages.filter((m: Json) => m.role === 'user')).toHaveLength(1);
    expect(lines.filter((line) => Number(line.level) >= 50)).toEqual([]);
  });

  it('an instance cut off from the database aborts its run and answers 503; the other records it interrupted; both recover', async () => {
    const db = await database();
    const proxy = await PgProxy.start();
    cleanups.push(() => proxy.cut());
    const gated = gatedAgent();
    const agents = { gated: gated.agent };
    const a = await instance(urlOf(db.name, { port: proxy.port }), 'instance-a', { agents, defaultAgent: 'gated', leaseMs: 600 });
    const b = await instance(db.url, 'instance-b', { agents, defaultAgent: 'gated', leaseMs: 600 });
    const session = await createSession(a);
    expect((await sendMessage(a, session.id, 'hold on')).status).toBe(202);
    await expect.poll(() => gated.runs.length).toBe(1);

    await proxy.cut();
    const cutAt = Date.now();
    expect((await a.call('GET', '/readyz')).status).toBe(503);
    expect((await a.call('GET', '/healthz')).status).toBe(200);
    const refused = await a.call('POST', `${API}/sessions`, { json: {} });
    expect({ status: refused.status, code: refused.body.error.code, retry: refused.headers.get('retry-after') }).toEqual({ status: 503, code: 'unavailable', retry: '5' });
    // A could not renew its lease for a whole term: it stops its run rather than run unfenced.
    await expect.poll(() => gated.runs[0]!.signal.aborted, { timeout: 3_000 }).toBe(true);
    // B finds the expired lease and records the run interrupted, keeping the user turn.
    const interrupted = await waitForSession(b, session.id, (s) => s.state === 'idle', 5_000);
    console.info(`owner cut off: interrupted on the other instance after ${Date.now() - cutAt} ms (lease 600 ms)`);
    expect(interrupted).toMatchObject({ last_run: { status: 'interrupted' }, has_pending_work: true });

    await proxy.restore();
    await expect.poll(async () => (await a.call('GET', '/readyz')).status, { timeout: 5_000 }).toBe(200);
    await expect.poll(() => a.feed.listening, { timeout: 5_000 }).toBe(true);
    // A streams again: B's resumed run reaches A's stream.
    const stream = openStream(a, session.id);
    cleanups.push(async () => stream.close());
    const resumed = await b.call('POST', `${API}/sessions/${session.id}/resume`);
    expect(resumed.body.outcome).toBe('Started');
    gated.release();
    await expect.poll(() => stream.frames.at(-1)?.data.to, { timeout: 5_000 }).toBe('completed');
    expectGapFree(stream.frames);
    expect((await events(a, session.id)).filter((event) => event.type === 'run_interrupted')).toHaveLength(1);
  });

  it('with resumeInterrupted, the instance that records a dead owner\'s run interrupted runs the turn again', async () => {
    const db = await database();
    const proxy = await PgProxy.start();
    cleanups.push(() => proxy.cut());
    const gated = gatedAgent();
    const agents = { gated: gated.agent };
    const a = await instance(urlOf(db.name, { port: proxy.port }), 'instance-a', { agents, defaultAgent: 'gated' });
    const b = await instance(db.url, 'instance-b', { agents, defaultAgent: 'gated', resumeInterrupted: true });
    const session = await createSession(a);
    const first = await sendMessage(a, session.id, 'survive this');
    expect(first.status).toBe(202);
    await expect.poll(() => gated.runs.length).toBe(1);

    // A is gone as far as the database can tell.
    await proxy.cut();
    await expect.poll(() => gated.runs.length, { timeout: 5_000 }).toBe(2);
    const log = await events(b, session.id);
    const types = log.map((event) => event.type);
    expect(types.slice(types.indexOf('run_interrupted'))).toEqual(['run_interrupted', 'state_changed', 'run_started', 'state_changed']);
    expect(log.find((event) => event.type === 'run_interrupted')).toMatchObject({ run_id: first.body.run_id });
    gated.release();
    await waitForSession(b, session.id, (s) => s.state === 'completed');
    expect(gated.runs[1]!.signal.aborted).toBe(false);
  });
});
