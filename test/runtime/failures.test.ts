/**
 * Failure isolation: a broken agent, a cancelled run, a deleted session or a
 * failed write affects one session's run only; the others and the process
 * carry on, and nothing from a dead run reaches the log.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Agent, RunContext, RunResult } from '../../src/agents/agent.js';
import { createDemoAgent } from '../../src/agents/demo.js';
import { runIdOf, type SessionEvent } from '../../src/domain/events.js';
import type { SessionRuntime } from '../../src/runtime/runtime.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Commit, Store } from '../../src/storage/store.js';
import { allEvents, allMessages, checkLog, testRuntime, sleep, trackUnhandledRejections, waitForState } from './helpers.js';

let runtime: SessionRuntime;
let stopTracking: () => unknown[];

beforeEach(() => {
  stopTracking = trackUnhandledRejections();
});

afterEach(async () => {
  await runtime?.shutdown();
  // Give stray promises a turn to reject, then require that none did unhandled.
  await sleep(20);
  expect(stopTracking()).toEqual([]);
});

/** Counts runs, and hands each run's context to the test. */
function agentFrom(run: (ctx: RunContext) => Promise<RunResult>): Agent & { calls: RunContext[] } {
  const calls: RunContext[] = [];
  return {
    calls,
    run(ctx) {
      calls.push(ctx);
      return run(ctx);
    },
  };
}

const BROKEN_AGENTS: [string, () => Agent & { calls: RunContext[] }, string][] = [
  ['throws an Error', () => agentFrom(async () => { throw new Error('kaput'); }), 'kaput'],
  ['throws a string', () => agentFrom(async () => { throw 'plain string failure'; }), 'plain string failure'],
  ['throws a non-Error object', () => agentFrom(async () => { throw { code: 42 }; }), 'The agent failed'],
  [
    'throws synchronously',
    () => {
      const calls: RunContext[] = [];
      return {
        calls,
        run(ctx: RunContext): Promise<RunResult> {
          calls.push(ctx);
          throw new Error('thrown before any promise');
        },
      };
    },
    'thrown before any promise',
  ],
  ['returns an invalid result', () => agentFrom(async () => ({ kind: 'bogus' }) as unknown as RunResult), 'The agent returned an invalid result'],
  ['returns nothing', () => agentFrom(async () => undefined as unknown as RunResult), 'The agent returned an invalid result'],
  ['asks a question without text', () => agentFrom(async () => ({ kind: 'awaitingUser', question: {} }) as unknown as RunResult), 'The agent returned an invalid result'],
];

describe('a broken agent fails only its own run', () => {
  it.each(BROKEN_AGENTS)('when it %s', async (_name, makeAgent, error) => {
    const broken = makeAgent();
    ({ runtime } = testRuntime({ agents: { broken }, tokenDelayMs: 1 }));
    await runtime.start();
    const victim = await runtime.createSession({ agent: 'broken' });
    const bystanders = await Promise.all(Array.from({ length: 10 }, () => runtime.createSession()));

    const started = await Promise.all([
      runtime.appendMessage(victim.id, 'do the thing'),
      ...bystanders.map((session, i) => runtime.appendMessage(session.id, `bystander ${i} says hello`)),
    ]);
    expect(started.every((result) => result.outcome === 'Started')).toBe(true);
    const runId = started[0]!.outcome === 'Started' ? started[0]!.run_id : '';

    const failed = await waitForState(runtime, victim.id, 'idle');
    expect(failed).toMatchObject({
      run_id: null,
      has_pending_work: true,
      last_run: { id: runId, status: 'failed', error },
    });
    expect(failed.last_run!.ended_at).not.toBeNull();
    const events = await allEvents(runtime, victim.id);
    checkLog(events, victim.id);
    expect(events.filter((event) => event.type === 'run_failed')).toEqual([expect.objectContaining({ run_id: runId, error })]);
    expect((await allMessages(runtime, victim.id)).map((message) => message.role)).toEqual(['user']);

    for (const [i, session] of bystanders.entries()) {
      await waitForState(runtime, session.id, 'completed');
      expect((await allMessages(runtime, session.id)).at(-1)?.content).toBe(`Echo: bystander ${i} says hello`);
      checkLog(await allEvents(runtime, session.id), session.id);
    }

    // The work was kept: resume retries the turn (and it fails again, the same way).
    const retry = await runtime.resume(victim.id);
    expect(retry.outcome).toBe('Started');
    await vi.waitFor(async () => expect((await runtime.getSession(victim.id)).last_run).toMatchObject({ status: 'failed', error }));
    expect(broken.calls).toHaveLength(2);
    expect(broken.calls[1]!.messages.map((message) => message.content)).toEqual(['do the thing']);

    // The process carries on.
    const later = await runtime.createSession();
    await runtime.appendMessage(later.id, 'still alive');
    await waitForState(runtime, later.id, 'completed');
    expect(runtime.stats().counts).toEqual({ idle: 1, running: 0, awaitingUser: 0, completed: 11 });
  });

  it('/fail TEXT with the demo agent fails with TEXT and keeps the work', async () => {
    ({ runtime } = testRuntime());
    await runtime.start();
    const session = await runtime.createSession();
    const started = await runtime.appendMessage(session.id, '/fail boom');
    const failed = await waitForState(runtime, session.id, 'idle');
    expect(failed).toMatchObject({ has_pending_work: true, last_run: { status: 'failed', error: 'boom' } });
    const events = await allEvents(runtime, session.id);
    expect(events.filter((event) => event.type === 'run_failed')).toEqual([
      expect.objectContaining({ error: 'boom', run_id: started.outcome === 'Started' ? started.run_id : '' }),
    ]);
    checkLog(events, session.id);
  });
});

/** An agent that streams a token, waits to be aborted, then keeps emitting and returns as if nothing happened. */
function stubbornAgent(lateDelayMs: number) {
  const runs: { ctx: RunContext; late: Promise<void>[]; finished: Promise<void> }[] = [];
  const agent: Agent = {
    run(ctx) {
      let finish!: () => void;
      const run = { ctx, late: [] as Promise<void>[], finished: new Promise<void>((resolve) => (finish = resolve)) };
      runs.push(run);
      return (async (): Promise<RunResult> => {
        await ctx.emit({ type: 'token', text: 'before ' });
        if (!ctx.signal.aborted) await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
        if (lateDelayMs > 0) await sleep(lateDelayMs);
        run.late.push(ctx.emit({ type: 'token', text: 'after abort' }));
        run.late.push(ctx.emit({ type: 'message_appended', message: { role: 'assistant', content: 'ghost' } }));
        finish();
        return { kind: 'completed', message: 'ghost reply' };
      })();
    },
  };
  return { agent, runs };
}

function ghostEvents(events: SessionEvent[]): SessionEvent[] {
  return events.filter((event) => (event.type === 'token' && event.text === 'after abort') || JSON.stringify(event).includes('ghost'));
}

describe('cancel', () => {
  it('aborts the run: idle, cancelled, work kept, and the run’s late emits are dropped', async () => {
    const stubborn = stubbornAgent(0);
    ({ runtime } = testRuntime({ agents: { stubborn: stubborn.agent } }));
    await runtime.start();
    const session = await runtime.createSession({ agent: 'stubborn' });
    const started = await runtime.appendMessage(session.id, 'go');
    if (started.outcome !== 'Started') throw new Error('expected a run');
    await vi.waitFor(async () => expect((await allEvents(runtime, session.id)).some((event) => event.type === 'token')).toBe(true));
    const run = stubborn.runs[0]!;
    expect(run.ctx.signal.aborted).toBe(false);

    expect(await runtime.cancel(session.id)).toEqual({ outcome: 'Cancelled', run_id: started.run_id });
    expect(run.ctx.signal.aborted).toBe(true);
    await run.finished;
    // The late emits resolve (they never reject) but store nothing.
    await expect(Promise.all(run.late)).resolves.toBeDefined();
    await sleep(20);

    const view = await runtime.getSession(session.id);
    expect(view).toMatchObject({ state: 'idle', run_id: null, has_pending_work: true, last_run: { id: started.run_id, status: 'cancelled' } });
    const events = await allEvents(runtime, session.id);
    expect(ghostEvents(events)).toEqual([]);
    expect(events.filter((event) => event.type === 'run_cancelled')).toEqual([expect.objectContaining({ run_id: started.run_id })]);
    expect(events.some((event) => event.type === 'run_completed')).toBe(false);
    expect(await allMessages(runtime, session.id)).toHaveLength(1);
    checkLog(events, session.id);

    await expect(runtime.cancel(session.id)).rejects.toMatchObject({ code: 'not_running' });
  });

  it('a cancel naming a run stops that run only: once another has started, it is not_running and the new run goes on', async () => {
    const stubborn = stubbornAgent(30);
    ({ runtime } = testRuntime({ agents: { stubborn: stubborn.agent } }));
    await runtime.start();
    const session = await runtime.createSession({ agent: 'stubborn' });
    const first = await runtime.appendMessage(session.id, 'go');
    if (first.outcome !== 'Started') throw new Error('expected a run');
    expect(await runtime.cancel(session.id, first.run_id)).toEqual({ outcome: 'Cancelled', run_id: first.run_id });
    const second = await runtime.resume(session.id);
    if (second.outcome !== 'Started') throw new Error('expected a second run');

    await expect(runtime.cancel(session.id, first.run_id)).rejects.toMatchObject({ code: 'not_running' });
    expect(await runtime.getSession(session.id)).toMatchObject({ state: 'running', run_id: second.run_id });
    expect(await runtime.cancel(session.id, second.run_id)).toEqual({ outcome: 'Cancelled', run_id: second.run_id });
  });

  it('a cancelled run’s late emits do not leak into the next run', async () => {
    const stubborn = stubbornAgent(30);
    ({ runtime } = testRuntime({ agents: { stubborn: stubborn.agent } }));
    await runtime.start();
    const session = await runtime.createSession({ agent: 'stubborn' });
    const first = await runtime.appendMessage(session.id, 'go');
    if (first.outcome !== 'Started') throw new Error('expected a run');
    await vi.waitFor(() => expect(stubborn.runs).toHaveLength(1));
    await runtime.cancel(session.id);

    // A new run is active before the old one reports again.
    const second = await runtime.resume(session.id);
    if (second.outcome !== 'Started') throw new Error('expected a second run');
    await stubborn.runs[0]!.finished;
    await Promise.all(stubborn.runs[0]!.late);
    await sleep(20);

    const view = await runtime.getSession(session.id);
    expect(view).toMatchObject({ state: 'running', run_id: second.run_id });
    const events = await allEvents(runtime, session.id);
    expect(ghostEvents(events)).toEqual([]);
    expect(events.filter((event) => runIdOf(event) === first.run_id).map((event) => event.type)).toEqual(['run_started', 'token', 'run_cancelled']);
  });

  it('/sleep 10000 with the demo agent is aborted at once', async () => {
    const demo = createDemoAgent({ tokenDelayMs: 0 });
    const signals: AbortSignal[] = [];
    ({ runtime } = testRuntime({ agents: { sleepy: { run: (ctx) => (signals.push(ctx.signal), demo.run(ctx)) } } }));
    await runtime.start();
    const session = await runtime.createSession({ agent: 'sleepy' });
    const started = await runtime.appendMessage(session.id, '/sleep 10000');
    if (started.outcome !== 'Started') throw new Error('expected a run');
    await vi.waitFor(() => expect(signals).toHaveLength(1));

    const before = Date.now();
    await runtime.cancel(session.id);
    expect(Date.now() - before).toBeLessThan(1_000);
    expect(signals[0]!.aborted).toBe(true);
    const view = await runtime.getSession(session.id);
    expect(view).toMatchObject({ state: 'idle', has_pending_work: true, last_run: { id: started.run_id, status: 'cancelled' } });
    await sleep(20);
    const events = await allEvents(runtime, session.id);
    expect(events.map((event) => event.type).slice(-2)).toEqual(['run_cancelled', 'state_changed']);
    checkLog(events, session.id);
  });
});

describe('delete', () => {
  it('deleting a running session aborts its run and removes it, its messages and its events', async () => {
    const store = new SqliteStore(':memory:');
    const stubborn = stubbornAgent(10);
    ({ runtime } = testRuntime({ store, agents: { stubborn: stubborn.agent } }));
    await runtime.start();
    const session = await runtime.createSession({ agent: 'stubborn' });
    const bystander = await runtime.createSession();
    await runtime.appendMessage(session.id, 'go');
    await vi.waitFor(() => expect(stubborn.runs).toHaveLength(1));

    const delivered: SessionEvent[] = [];
    let ended = false;
    runtime.subscribe(session.id, { deliver: ({ event }) => delivered.push(event), end: () => (ended = true) });

    await runtime.deleteSession(session.id);
    expect(stubborn.runs[0]!.ctx.signal.aborted).toBe(true);
    expect(ended).toBe(true);
    expect(delivered.at(-1)).toMatchObject({ type: 'session_deleted', session_id: session.id });

    await expect(runtime.getSession(session.id)).rejects.toMatchObject({ code: 'session_not_found' });
    expect(await runtime.resume(session.id)).toEqual({ outcome: 'NotFound' });
    await expect(runtime.readEvents(session.id, 0, 10)).rejects.toMatchObject({ code: 'session_not_found' });
    await expect(runtime.deleteSession(session.id)).rejects.toMatchObject({ code: 'session_not_found' });

    // The run's late emits do not bring anything back.
    await stubborn.runs[0]!.finished;
    await Promise.all(stubborn.runs[0]!.late);
    await sleep(20);
    expect(await store.loadSession(session.id)).toBeNull();
    expect(await store.readEvents(session.id, 0, 100)).toEqual([]);
    expect((await store.readMessages(session.id, { limit: 100 })).items).toEqual([]);
    expect(runtime.stats().counts).toEqual({ idle: 1, running: 0, awaitingUser: 0, completed: 0 });
    expect((await runtime.listSessions({ limit: 10 })).sessions.map((view) => view.id)).toEqual([bystander.id]);
  });
});

describe('a failed write', () => {
  it('fails only the run of the session it belongs to; the session is repaired from storage', async () => {
    const inner = new SqliteStore(':memory:');
    let doomed = '';
    let failures = 0;
    const store: Store = new Proxy(inner, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property === 'commit') {
          return (commit: Commit) => {
            if (commit.sessionId === doomed && failures === 0 && commit.events.some((event) => event.type === 'token')) {
              failures++;
              return Promise.reject(new Error('disk full'));
            }
            return inner.commit(commit);
          };
        }
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    ({ runtime } = testRuntime({ store, tokenDelayMs: 1 }));
    await runtime.start();
    const victim = await runtime.createSession();
    const bystanders = await Promise.all(Array.from({ length: 5 }, () => runtime.createSession()));
    doomed = victim.id;

    const started = await runtime.appendMessage(victim.id, 'several words to stream here');
    if (started.outcome !== 'Started') throw new Error('expected a run');
    await Promise.all(bystanders.map((session) => runtime.appendMessage(session.id, 'carry on please')));

    const repaired = await vi.waitFor(async () => {
      const view = await runtime.getSession(victim.id);
      expect(view.last_run).toMatchObject({ id: started.run_id, status: 'failed', error: expect.stringContaining('disk full') });
      return view;
    });
    expect(failures).toBe(1);
    expect(repaired).toMatchObject({ state: 'idle', has_pending_work: true });
    checkLog(await allEvents(runtime, victim.id), victim.id);
    for (const session of bystanders) await waitForState(runtime, session.id, 'completed');

    // Storage works again: the turn can be retried and completes.
    expect((await runtime.resume(victim.id)).outcome).toBe('Started');
    await waitForState(runtime, victim.id, 'completed');
    expect((await allMessages(runtime, victim.id)).at(-1)?.content).toBe('Echo: several words to stream here');
  });
});
