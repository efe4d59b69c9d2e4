/**
 * A run whose host broke because storage failed under it (a lost database
 * connection, a full disk): recorded interrupted as soon as storage answers
 * again, not a whole lease later, and resumed when the server resumes
 * interrupted runs.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDemoAgent } from '../../src/agents/demo.js';
import { createRuntime, type SessionRuntime } from '../../src/runtime/runtime.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { type Commit, StorageUnavailable } from '../../src/storage/store.js';
import { tokenOnCue } from './cue-agent.js';
import { allEvents, waitForState } from './helpers.js';

/** Storage that, while down, refuses everything a session needs: writes, and reading a session back. */
class FlakyStore extends SqliteStore {
  down = false;
  override commit(commit: Commit): Promise<void> {
    return this.down ? Promise.reject(new StorageUnavailable('unreachable', 'Connection terminated')) : super.commit(commit);
  }
  override loadSession(id: string) {
    return this.down ? Promise.reject(new StorageUnavailable('unreachable', 'Connection terminated')) : super.loadSession(id);
  }
}

let runtime: SessionRuntime | undefined;
afterEach(async () => {
  await runtime?.shutdown();
  runtime = undefined;
});

describe('a run cut off by failing storage', () => {
  for (const resumeInterrupted of [false, true]) {
    it(`is recorded interrupted once storage answers, long before its lease lapses${resumeInterrupted ? ', and resumed' : ''}`, async () => {
      const store = new FlakyStore(':memory:');
      const cued = tokenOnCue();
      // A lease of a minute: only the prompt record, not the sweep of lapsed leases, can record the run in time.
      runtime = createRuntime({ store, agents: new Map([['demo', createDemoAgent()], ['cued', cued.agent]]), defaultAgent: 'cued', leaseMs: 60_000 });
      await runtime.start({ resumeInterrupted });
      const session = await runtime.createSession();
      const started = await runtime.appendMessage(session.id, 'hello');
      if (started.outcome !== 'Started') throw new Error('expected a run');
      await vi.waitFor(() => expect(cued.runs).toHaveLength(1));

      store.down = true;
      cued.streamToken();
      // The token's commit fails: the host breaks and its run is stopped.
      await vi.waitFor(() => expect(cued.runs[0]!.aborted).toBe(true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      store.down = false;
      const back = Date.now();

      if (resumeInterrupted) {
        const done = await waitForState(runtime, session.id, 'completed', 5_000);
        expect(done.last_run?.id).not.toBe(started.run_id);
        expect(cued.runs).toHaveLength(2);
      } else {
        const idle = await waitForState(runtime, session.id, 'idle', 5_000);
        expect(idle).toMatchObject({ has_pending_work: true, last_run: { id: started.run_id, status: 'interrupted' } });
      }
      expect(Date.now() - back).toBeLessThan(5_000);
      const types = (await allEvents(runtime, session.id)).map((event) => event.type);
      // Nothing of the cut-off commit was stored, and the run is recorded once.
      expect(types).not.toContain('token');
      expect(types.filter((type) => type === 'run_interrupted')).toHaveLength(1);
    });
  }
});
