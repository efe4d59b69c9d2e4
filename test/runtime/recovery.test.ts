/**
 * Recovery: a process that dies mid-run leaves its session stored as
 * `running`; the next process finds it `idle` with the run interrupted, its
 * work kept, its log intact, and can run the turn again.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agents/agent.js';
import { createDemoAgent } from '../../src/agents/demo.js';
import { runIdOf } from '../../src/domain/events.js';
import { createRuntime, type SessionRuntime } from '../../src/runtime/runtime.js';
import { decodeSnapshot } from '../../src/runtime/snapshot.js';
import { DatabaseInUse } from '../../src/storage/sqlite/single-instance.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../../src/storage/store.js';
import { allEvents, allMessages, checkLog, testRuntime, sleep, tempDir, waitForState } from './helpers.js';

/**
 * A store that can "die": after `crash()` every call hangs forever, as if the
 * process holding it had stopped. Nothing it was asked after that reaches disk.
 */
function crashable(inner: Store): { store: Store; crash: () => void } {
  let crashed = false;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (crashed ? new Promise(() => undefined) : (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  // A dead process's file lock goes with it.
  return { store, crash: () => ((crashed = true), void inner.close()) };
}

/** The demo agent, plus a switch that aborts its runs from outside: the dead process's timers must not outlive the test. */
function killableDemo(): { agent: Agent; kill: () => void; signals: AbortSignal[] } {
  const demo = createDemoAgent({ tokenDelayMs: 0 });
  const killer = new AbortController();
  const signals: AbortSignal[] = [];
  return {
    agent: {
      run(ctx) {
        signals.push(ctx.signal);
        return demo.run({ ...ctx, signal: AbortSignal.any([ctx.signal, killer.signal]) });
      },
    },
    kill: () => killer.abort(new Error('the old process is gone')),
    signals,
  };
}

let dir: ReturnType<typeof tempDir>;
const cleanups: (() => unknown)[] = [];

beforeEach(() => {
  dir = tempDir();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  dir.cleanup();
});

function openRuntime(options: { agent?: Agent; store?: Store } = {}): SessionRuntime {
  const store = options.store ?? new SqliteStore(dir.file);
  const agents = new Map<string, Agent>([['demo', options.agent ?? createDemoAgent({ tokenDelayMs: 0 })]]);
  return createRuntime({ store, agents, defaultAgent: 'demo' });
}

/** Starts a run in a first process, then "kills" that process without shutdown. */
async function crashMidRun(content: string) {
  const inner = new SqliteStore(dir.file);
  const { store, crash } = crashable(inner);
  const demo = killableDemo();
  const first = openRuntime({ agent: demo.agent, store });
  await first.start();
  const session = await first.createSession({ title: 'survives a crash' });
  await first.appendMessage(session.id, 'hello there');
  await waitForState(first, session.id, 'completed');
  const started = await first.appendMessage(session.id, content);
  if (started.outcome !== 'Started') throw new Error('expected a run');
  const before = await first.getSession(session.id);
  expect(before.state).toBe('running');
  const eventsBefore = await allEvents(first, session.id);
  const messagesBefore = await allMessages(first, session.id);

  crash();
  cleanups.push(async () => {
    demo.kill();
    await inner.close();
  });
  return { session, runId: started.run_id, before, eventsBefore, messagesBefore, demo };
}

describe('recovery after a crash', () => {
  it('a session left running is idle/interrupted with its messages, events and work intact, and resume runs it again', async () => {
    const crashed = await crashMidRun('/sleep 300');
    // The first process still holds its run: its signal is live.
    expect(crashed.demo.signals.at(-1)?.aborted).toBe(false);

    const second = openRuntime();
    cleanups.push(() => second.shutdown());
    expect(await second.start()).toEqual([crashed.session.id]);

    const view = await second.getSession(crashed.session.id);
    expect(view).toMatchObject({
      state: 'idle',
      run_id: null,
      has_pending_work: true,
      last_run: { id: crashed.runId, status: 'interrupted', started_at: crashed.before.last_run!.started_at },
      message_count: crashed.before.message_count,
      title: 'survives a crash',
    });
    expect(view.last_run!.ended_at).not.toBeNull();
    expect(second.stats().counts).toMatchObject({ idle: 1, running: 0 });

    expect(await allMessages(second, crashed.session.id)).toEqual(crashed.messagesBefore);
    const events = await allEvents(second, crashed.session.id);
    expect(events.slice(0, crashed.eventsBefore.length)).toEqual(crashed.eventsBefore);
    expect(events.slice(crashed.eventsBefore.length).map((event) => event.type)).toEqual(['run_interrupted', 'state_changed']);
    expect(events.at(-2)).toMatchObject({ type: 'run_interrupted', run_id: crashed.runId });
    expect(events.at(-1)).toMatchObject({ type: 'state_changed', from: 'running', to: 'idle' });
    checkLog(events, crashed.session.id);

    const resumed = await second.resume(crashed.session.id);
    if (resumed.outcome !== 'Started') throw new Error(`expected Started, got ${resumed.outcome}`);
    expect(resumed.run_id).not.toBe(crashed.runId);
    const done = await waitForState(second, crashed.session.id, 'completed');
    expect(done.last_run).toMatchObject({ id: resumed.run_id, status: 'completed' });
    const messages = await allMessages(second, crashed.session.id);
    expect(messages.at(-1)).toMatchObject({ role: 'assistant', content: 'Slept 300 ms', run_id: resumed.run_id });
    const runs = checkLog(await allEvents(second, crashed.session.id), crashed.session.id);
    expect(runs.map((run) => [run.runId, run.events.at(-1)!.type])).toEqual([
      [runs[0]!.runId, 'run_completed'],
      [crashed.runId, 'run_interrupted'],
      [resumed.run_id, 'run_completed'],
    ]);
  });

  it('the state survives the crash exactly as stored: a reopened store agrees with the runtime', async () => {
    const crashed = await crashMidRun('/sleep 300');
    const second = openRuntime();
    await second.start();
    const view = await second.getSession(crashed.session.id);
    await second.shutdown();

    const reader = new SqliteStore(dir.file);
    cleanups.push(() => reader.close());
    const row = (await reader.loadSession(crashed.session.id))!;
    expect(row).toMatchObject({ state: 'idle', version: view.version, last_event_seq: view.last_event_seq, message_count: view.message_count });
    const context = decodeSnapshot(row.snapshot).context;
    expect(context).toMatchObject({ runId: null, hasPendingWork: true, lastRun: view.last_run });
  });

  it('start({ resumeInterrupted: true }) runs interrupted sessions again by itself', async () => {
    const crashed = await crashMidRun('/sleep 300');
    const second = openRuntime();
    cleanups.push(() => second.shutdown());
    expect(await second.start({ resumeInterrupted: true })).toEqual([crashed.session.id]);

    const running = await second.getSession(crashed.session.id);
    expect(running.state).toBe('running');
    expect(running.run_id).not.toBe(crashed.runId);
    const done = await waitForState(second, crashed.session.id, 'completed');
    expect(done.last_run).toMatchObject({ id: running.run_id, status: 'completed' });
    const runs = checkLog(await allEvents(second, crashed.session.id), crashed.session.id);
    expect(runs.map((run) => run.events.at(-1)!.type)).toEqual(['run_completed', 'run_interrupted', 'run_completed']);
  });

  it('sessions that were not running are left alone by recovery', async () => {
    const first = openRuntime();
    await first.start();
    const idle = await first.createSession();
    const pending = await first.createSession();
    await first.appendMessage(pending.id, 'later', { resume: false });
    const asking = await first.createSession();
    await first.appendMessage(asking.id, '/ask Why?');
    await waitForState(first, asking.id, 'awaitingUser');
    const views = await Promise.all([idle.id, pending.id, asking.id].map((id) => first.getSession(id)));
    await first.shutdown();

    const second = openRuntime();
    cleanups.push(() => second.shutdown());
    expect(await second.start({ resumeInterrupted: true })).toEqual([]);
    expect(await Promise.all(views.map((view) => second.getSession(view.id)))).toEqual(views);
    expect(second.stats().counts).toEqual({ idle: 2, running: 0, awaitingUser: 1, completed: 0 });
  });

  it('a second process on the same file is refused while the first lives, and the first is unaffected', async () => {
    const first = openRuntime();
    cleanups.push(() => first.shutdown());
    await first.start();
    const session = await first.createSession();
    const started = await first.appendMessage(session.id, '/sleep 100');
    if (started.outcome !== 'Started') throw new Error('expected a run');

    expect(() => openRuntime()).toThrow(DatabaseInUse);
    const done = await waitForState(first, session.id, 'completed');
    expect(done.last_run).toMatchObject({ id: started.run_id, status: 'completed' });
    checkLog(await allEvents(first, session.id), session.id);
  });
});

describe('graceful shutdown', () => {
  it('aborts a run mid-way and records it interrupted, with its work kept', async () => {
    const demo = killableDemo();
    const runtime = openRuntime({ agent: demo.agent });
    await runtime.start();
    const session = await runtime.createSession();
    const started = await runtime.appendMessage(session.id, '/sleep 10000');
    if (started.outcome !== 'Started') throw new Error('expected a run');

    await runtime.shutdown();
    expect(demo.signals.at(-1)?.aborted).toBe(true);
    await expect(runtime.getSession(session.id)).rejects.toMatchObject({ code: 'unavailable' });

    const reader = new SqliteStore(dir.file);
    cleanups.push(() => reader.close());
    const row = (await reader.loadSession(session.id))!;
    expect(row.state).toBe('idle');
    expect(decodeSnapshot(row.snapshot).context).toMatchObject({
      runId: null,
      hasPendingWork: true,
      lastRun: { id: started.run_id, status: 'interrupted' },
    });
    const events = await reader.readEvents(session.id, 0, 1000);
    checkLog(events, session.id);
    expect(events.at(-2)).toMatchObject({ type: 'run_interrupted', run_id: started.run_id });
    await reader.close();

    // Nothing is left for the next process to recover.
    const next = openRuntime();
    cleanups.push(() => next.shutdown());
    expect(await next.start()).toEqual([]);
    expect((await next.getSession(session.id)).last_run).toMatchObject({ status: 'interrupted' });
  });

  it('shutdown twice is harmless', async () => {
    const { runtime } = testRuntime();
    await runtime.start();
    await runtime.shutdown();
    await expect(runtime.shutdown()).resolves.toEqual([]);
  });
});
