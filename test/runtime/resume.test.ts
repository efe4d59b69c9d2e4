/** The resume outcomes by state (docs/API.md), through the runtime, and its at-most-one-run guarantee under concurrency. */
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionRuntime } from '../../src/runtime/runtime.js';
import { allEvents, checkLog, testRuntime, nextTurn, waitForState } from './helpers.js';

let runtime: SessionRuntime;

afterEach(async () => {
  await runtime?.shutdown();
});

describe('resume outcomes by state', () => {
  it('NotFound for an id that names no session', async () => {
    ({ runtime } = testRuntime());
    await runtime.start();
    expect(await runtime.resume('ses_nope')).toEqual({ outcome: 'NotFound' });
  });

  it('NotFound for a deleted session', async () => {
    ({ runtime } = testRuntime());
    await runtime.start();
    const session = await runtime.createSession();
    await runtime.deleteSession(session.id);
    expect(await runtime.resume(session.id)).toEqual({ outcome: 'NotFound' });
  });

  it('Completed for a fresh idle session: nothing to do, nothing changes', async () => {
    ({ runtime } = testRuntime());
    await runtime.start();
    const session = await runtime.createSession();
    expect(await runtime.resume(session.id)).toEqual({ outcome: 'Completed' });
    const after = await runtime.getSession(session.id);
    expect(after).toEqual(session);
  });

  it('Completed for a completed session', async () => {
    ({ runtime } = testRuntime());
    await runtime.start();
    const session = await runtime.createSession();
    await runtime.appendMessage(session.id, 'hello');
    const completed = await waitForState(runtime, session.id, 'completed');
    expect(await runtime.resume(session.id)).toEqual({ outcome: 'Completed' });
    expect(await runtime.getSession(session.id)).toEqual(completed);
  });

  it('Completed for a session awaiting the user: nothing runs until respond', async () => {
    ({ runtime } = testRuntime());
    await runtime.start();
    const session = await runtime.createSession();
    await runtime.appendMessage(session.id, '/ask Which? | a | b');
    const waiting = await waitForState(runtime, session.id, 'awaitingUser');
    expect(await runtime.resume(session.id)).toEqual({ outcome: 'Completed' });
    expect(await runtime.getSession(session.id)).toEqual(waiting);
  });

  it('AlreadyRunning with the active run_id while running', async () => {
    ({ runtime } = testRuntime());
    await runtime.start();
    const session = await runtime.createSession();
    const started = await runtime.appendMessage(session.id, '/sleep 10000');
    if (started.outcome !== 'Started') throw new Error('expected a run');
    expect(await runtime.resume(session.id)).toEqual({ outcome: 'AlreadyRunning', run_id: started.run_id });
    const view = await runtime.getSession(session.id);
    expect(view.state).toBe('running');
    expect(view.run_id).toBe(started.run_id);
  });

  it('Started with pending work: a new run_id, the work consumed, the run in the background', async () => {
    ({ runtime } = testRuntime());
    await runtime.start();
    const session = await runtime.createSession();
    const appended = await runtime.appendMessage(session.id, 'hello world', { resume: false });
    expect(appended.outcome).toBeNull();
    const idle = await runtime.getSession(session.id);
    expect(idle).toMatchObject({ state: 'idle', has_pending_work: true, run_id: null, last_run: null });

    const result = await runtime.resume(session.id);
    if (result.outcome !== 'Started') throw new Error(`expected Started, got ${result.outcome}`);
    expect(result.run_id).toMatch(/^run_/);
    expect(result.events_after).toBe(idle.last_event_seq);

    // The call answered before the run ended, and what it answered is already durable.
    const durable = await runtime.readEvents(session.id, result.events_after, 10);
    expect(durable.events[0]).toMatchObject({ type: 'run_started', run_id: result.run_id });

    const done = await waitForState(runtime, session.id, 'completed');
    expect(done).toMatchObject({ has_pending_work: false, run_id: null, last_run: { id: result.run_id, status: 'completed' } });
    expect(await runtime.resume(session.id)).toEqual({ outcome: 'Completed' });
    checkLog(await allEvents(runtime, session.id), session.id);
  });

  it('Started again after a failed run, whose work was kept', async () => {
    ({ runtime } = testRuntime());
    await runtime.start();
    const session = await runtime.createSession();
    await runtime.appendMessage(session.id, '/fail nope');
    const failed = await waitForState(runtime, session.id, 'idle');
    expect(failed).toMatchObject({ has_pending_work: true, last_run: { status: 'failed', error: 'nope' } });
    const again = await runtime.resume(session.id);
    expect(again.outcome).toBe('Started');
  });
});

describe('concurrent resumes', () => {
  async function concurrentResumes(id: string, n: number) {
    const results = await Promise.all(Array.from({ length: n }, () => runtime.resume(id)));
    const started = results.filter((result) => result.outcome === 'Started');
    const already = results.filter((result) => result.outcome === 'AlreadyRunning');
    return { results, started, already };
  }

  it('500 concurrent resumes of a session with pending work: exactly one Started, 499 AlreadyRunning with its run_id', async () => {
    ({ runtime } = testRuntime());
    await runtime.start();
    const session = await runtime.createSession();
    await runtime.appendMessage(session.id, '/sleep 200', { resume: false });

    const { results, started, already } = await concurrentResumes(session.id, 500);

    expect(started).toHaveLength(1);
    expect(already).toHaveLength(499);
    const runId = started[0]!.outcome === 'Started' ? started[0]!.run_id : '';
    expect(new Set(already.map((result) => (result.outcome === 'AlreadyRunning' ? result.run_id : null)))).toEqual(new Set([runId]));
    expect(results).toHaveLength(500);

    const done = await waitForState(runtime, session.id, 'completed');
    expect(done.last_run).toMatchObject({ id: runId, status: 'completed' });
    const runs = checkLog(await allEvents(runtime, session.id), session.id);
    expect(runs.map((run) => run.runId)).toEqual([runId]);
  });

  it('the same when the session is passivated at the start: hydration happens once', async () => {
    ({ runtime } = testRuntime({ maxLiveActors: 1 }));
    await runtime.start();
    const session = await runtime.createSession();
    await runtime.appendMessage(session.id, '/sleep 200', { resume: false });
    // Touching another session pushes the first one out of memory.
    const other = await runtime.createSession();
    await runtime.getSession(other.id);
    await nextTurn();
    expect(runtime.stats().liveActors).toBe(1);

    const { started, already } = await concurrentResumes(session.id, 500);

    expect(started).toHaveLength(1);
    expect(already).toHaveLength(499);
    const runId = started[0]!.outcome === 'Started' ? started[0]!.run_id : '';
    expect(already.every((result) => result.outcome === 'AlreadyRunning' && result.run_id === runId)).toBe(true);
    // The running session is the one live actor; the other was passivated to make room.
    await nextTurn();
    expect(runtime.stats().liveActors).toBe(1);

    const done = await waitForState(runtime, session.id, 'completed');
    expect(done.last_run).toMatchObject({ id: runId, status: 'completed' });
    const runs = checkLog(await allEvents(runtime, session.id), session.id);
    expect(runs).toHaveLength(1);
  });

  it('concurrent appends with resume and resumes of one idle session start one run', async () => {
    ({ runtime } = testRuntime());
    await runtime.start();
    const session = await runtime.createSession();
    await runtime.appendMessage(session.id, '/sleep 100', { resume: false });
    const [append, ...resumes] = await Promise.allSettled([
      runtime.appendMessage(session.id, '/sleep 100'),
      ...Array.from({ length: 50 }, () => runtime.resume(session.id)),
    ]);
    const outcomes = resumes.map((result) => (result.status === 'fulfilled' ? result.value.outcome : 'rejected'));
    const startedByAppend = append!.status === 'fulfilled' ? 1 : 0;
    // Whoever comes first starts the one run; the append, if second, is refused as busy.
    expect(outcomes.filter((outcome) => outcome === 'Started').length + startedByAppend).toBe(1);
    if (append!.status === 'rejected') expect(append!.reason).toMatchObject({ code: 'session_busy' });
    await waitForState(runtime, session.id, 'completed');
    expect(checkLog(await allEvents(runtime, session.id), session.id)).toHaveLength(1);
  });
});
