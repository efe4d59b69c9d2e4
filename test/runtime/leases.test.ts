/**
 * Lease renewal against a run whose start is still being written (the
 * renewal must not take the missing lease for a lost one and abort the run),
 * and against storage that never answers (the runs here stop before their
 * leases lapse).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDemoAgent } from '../../src/agents/demo.js';
import { createRuntime, type SessionRuntime } from '../../src/runtime/runtime.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Commit } from '../../src/storage/store.js';
import type { Agent } from '../../src/agents/agent.js';
import { waitForState } from './helpers.js';

/**
 * One renewal, held at the worst moment: it asks for a run's lease just after
 * that run ended, and answers once the session's next run has started.
 */
class UnluckyRenewalStore extends SqliteStore {
  /** Set by the test: the next renewal with a run in it is the unlucky one. */
  armed = false;
  /** Called when the unlucky renewal has asked, before it is answered. */
  onAsked: () => void = () => undefined;
  override async renewLeases(owner: string, ids: readonly string[], ttlMs: number): Promise<string[]> {
    if (!this.armed || ids.length === 0) return super.renewLeases(owner, ids, ttlMs);
    this.armed = false;
    this.onAsked();
    const state = async () => (await this.loadSession(ids[0]!))?.state;
    await vi.waitFor(async () => expect(await state()).not.toBe('running'), { timeout: 5_000, interval: 2 });
    const held = await super.renewLeases(owner, ids, ttlMs);
    await vi.waitFor(async () => expect(await state()).toBe('running'), { timeout: 5_000, interval: 2 });
    return held;
  }
}

/** Storage that, once armed, never answers a renewal: a connection to a database that froze. */
class FrozenRenewalStore extends SqliteStore {
  armed = false;
  asked = 0;
  override renewLeases(owner: string, ids: readonly string[], ttlMs: number): Promise<string[]> {
    if (!this.armed || ids.length === 0) return super.renewLeases(owner, ids, ttlMs);
    this.asked++;
    return new Promise(() => undefined);
  }
}

/** An agent that runs until aborted, keeping each run's signal. */
function untilAborted() {
  const signals: AbortSignal[] = [];
  const agent: Agent = {
    run: ({ signal }) =>
      new Promise((resolve) => {
        signals.push(signal);
        signal.addEventListener('abort', () => resolve({ kind: 'completed', message: 'aborted' }), { once: true });
      }),
  };
  return { agent, signals };
}

/** Writes a run's start (the commit that takes its lease) slowly, as a busy database would. */
class SlowStartStore extends SqliteStore {
  override async commit(commit: Commit): Promise<void> {
    if (commit.lease && !('release' in commit.lease)) await new Promise((resolve) => setTimeout(resolve, 2_000));
    return super.commit(commit);
  }
}

let runtime: SessionRuntime | undefined;
afterEach(async () => {
  await runtime?.shutdown();
  runtime = undefined;
});

describe('lease renewal', () => {
  it('leaves alone a run whose start is not durable yet, and renews it once it is', async () => {
    // Renewals every 500 ms: several fall while the start is written.
    runtime = createRuntime({ store: new SlowStartStore(':memory:'), agents: new Map([['demo', createDemoAgent({ tokenDelayMs: 0 })]]), defaultAgent: 'demo', leaseMs: 1_500 });
    await runtime.start();
    const session = await runtime.createSession();
    const started = await runtime.appendMessage(session.id, '/sleep 150');
    expect(started.outcome).toBe('Started');
    const done = await waitForState(runtime, session.id, 'completed');
    expect(done.last_run).toMatchObject({ status: 'completed' });
  });

  it('leaves alone a run that started after a renewal looked for the previous one', async () => {
    const store = new UnluckyRenewalStore(':memory:');
    // Renewals every second: the unlucky one is answered well before the next, so it is not taken for a frozen store.
    runtime = createRuntime({ store, agents: new Map([['demo', createDemoAgent({ tokenDelayMs: 0 })]]), defaultAgent: 'demo', leaseMs: 3_000 });
    await runtime.start();
    const session = await runtime.createSession();
    await runtime.appendMessage(session.id, '/sleep 60000');
    await waitForState(runtime, session.id, 'running');
    const asked = new Promise<void>((resolve) => (store.onAsked = resolve));
    store.armed = true;
    await asked;
    // The run ends while the renewal is under way...
    await runtime.cancel(session.id);
    // ...and the renewal that found no lease answers while the next run is under way.
    const second = await runtime.appendMessage(session.id, '/sleep 100');
    if (second.outcome !== 'Started') throw new Error('expected a run');
    const done = await waitForState(runtime, session.id, 'completed');
    expect(done.last_run).toMatchObject({ id: second.run_id, status: 'completed' });
  });

  it('aborts the runs here when a renewal never returns, before their leases lapse', async () => {
    const store = new FrozenRenewalStore(':memory:');
    const { agent, signals } = untilAborted();
    const leaseMs = 600;
    runtime = createRuntime({ store, agents: new Map([['held', agent]]), defaultAgent: 'held', leaseMs });
    await runtime.start();
    const session = await runtime.createSession();
    await runtime.appendMessage(session.id, 'go');
    await vi.waitFor(() => expect(signals).toHaveLength(1));
    store.armed = true;
    await vi.waitFor(() => expect(store.asked).toBe(1), { timeout: 2_000 });
    const frozenAt = Date.now();
    await vi.waitFor(() => expect(signals[0]!.aborted).toBe(true), { timeout: 5_000, interval: 5 });
    // The last answered renewal was sent at most a tick before the frozen one, so its lease lapses at most a term after that.
    expect(Date.now() - frozenAt).toBeLessThan(leaseMs);
    // Nothing else was asked while the frozen renewal hung: renewals never overlap.
    expect(store.asked).toBe(1);
  });
});
