/**
 * Lease renewal against a run whose start is still being written: the
 * renewal must not take the missing lease for a lost one and abort the run.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDemoAgent } from '../../src/agents/demo.js';
import { createRuntime, type SessionRuntime } from '../../src/runtime/runtime.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Commit } from '../../src/storage/store.js';
import { waitForState } from './helpers.js';

/**
 * One renewal, held at the worst moment: it asks for a run's lease just after
 * that run ended, and answers once the session's next run has started.
 */
class UnluckyRenewalStore extends SqliteStore {
  /** Set by the test: the next renewal with a run in it is the unlucky one. */
  armed = false;
  override async renewLeases(owner: string, ids: readonly string[], ttlMs: number): Promise<string[]> {
    if (!this.armed || ids.length === 0) return super.renewLeases(owner, ids, ttlMs);
    this.armed = false;
    const state = async () => (await this.loadSession(ids[0]!))?.state;
    await vi.waitFor(async () => expect(await state()).not.toBe('running'), { timeout: 5_000, interval: 2 });
    const held = await super.renewLeases(owner, ids, ttlMs);
    await vi.waitFor(async () => expect(await state()).toBe('running'), { timeout: 5_000, interval: 2 });
    return held;
  }
}

/** Writes a run's start (the commit that takes its lease) slowly, as a busy database would. */
class SlowStartStore extends SqliteStore {
  override async commit(commit: Commit): Promise<void> {
    if (commit.lease && !('release' in commit.lease)) await new Promise((resolve) => setTimeout(resolve, 100));
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
    // Renewals every 10 ms: several fall while the start is written.
    runtime = createRuntime({ store: new SlowStartStore(':memory:'), agents: new Map([['demo', createDemoAgent({ tokenDelayMs: 0 })]]), defaultAgent: 'demo', leaseMs: 30 });
    await runtime.start();
    const session = await runtime.createSession();
    const started = await runtime.appendMessage(session.id, '/sleep 150');
    expect(started.outcome).toBe('Started');
    const done = await waitForState(runtime, session.id, 'completed');
    expect(done.last_run).toMatchObject({ status: 'completed' });
  });

  it('leaves alone a run that started after a renewal looked for the previous one', async () => {
    const store = new UnluckyRenewalStore(':memory:');
    runtime = createRuntime({ store, agents: new Map([['demo', createDemoAgent({ tokenDelayMs: 0 })]]), defaultAgent: 'demo', leaseMs: 30 });
    await runtime.start();
    const session = await runtime.createSession();
    await runtime.appendMessage(session.id, '/sleep 200');
    await waitForState(runtime, session.id, 'running');
    store.armed = true;
    await waitForState(runtime, session.id, 'completed');
    // The renewal that found no lease answers while this run is under way.
    const second = await runtime.appendMessage(session.id, '/sleep 100');
    if (second.outcome !== 'Started') throw new Error('expected a run');
    const done = await waitForState(runtime, session.id, 'completed');
    expect(done.last_run).toMatchObject({ id: second.run_id, status: 'completed' });
  });
});
