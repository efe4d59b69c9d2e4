/**
 * Lease renewal against a run whose start is still being written: the
 * renewal must not take the missing lease for a lost one and abort the run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createDemoAgent } from '../../src/agents/demo.js';
import { createRuntime, type SessionRuntime } from '../../src/runtime/runtime.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Commit } from '../../src/storage/store.js';
import { waitForState } from './helpers.js';

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
});
