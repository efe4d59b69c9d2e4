/**
 * The session writer batches what one turn of the event loop made, and what
 * waits behind a write in flight, but never two lease changes in one commit.
 */
import { describe, expect, it } from 'vitest';
import type { SessionContext } from '../../machines/session.machine.js';
import { type Change, type Durable, SessionWriter } from '../../src/runtime/session-writer.js';
import type { Commit, Store } from '../../src/storage/store.js';

function recordingStore() {
  const commits: Commit[] = [];
  let release: () => void = () => undefined;
  const first = new Promise<void>((resolve) => (release = resolve));
  const store = {
    async commit(commit: Commit) {
      commits.push(commit);
      // The first write stays in flight until released, so the next changes gather behind it.
      if (commits.length === 1) await first;
    },
  } as unknown as Store;
  return { store, commits, release: () => release() };
}

const durable: Durable = { state: 'running', context: {} as SessionContext, version: 1, lastSeq: 0, messageCount: 0, updatedAt: '', leaseOwner: 'a' };
const marked = (mark: string, extra: Partial<Change> = {}): Change => ({ events: [], messages: [], removeMessages: [mark], ...extra });

describe('SessionWriter', () => {
  it("writes a run's end (lease given back) and the next run's start (lease taken) in commits of their own", async () => {
    const { store, commits, release } = recordingStore();
    const writer = new SessionWriter('ses_1', store, durable, () => undefined);
    writer.add(marked('token'));
    await nextTurn();
    writer.add(marked('end', { lease: { release: true } }));
    writer.add(marked('reply'));
    writer.add(marked('start', { lease: { owner: 'a', epoch: 2, ttlMs: 1000 }, runLimit: { tenant: 't', max: 1 } }));
    writer.add(marked('first token'));
    release();
    await writer.settled();
    expect(commits.map((commit) => [commit.removeMessages, commit.lease, commit.runLimit ?? null, commit.expectedVersion])).toEqual([
      [['token'], undefined, null, 1],
      [['end', 'reply'], { release: true }, null, 2],
      [['start', 'first token'], { owner: 'a', epoch: 2, ttlMs: 1000 }, { tenant: 't', max: 1 }, 3],
    ]);
    expect(writer.durable).toMatchObject({ version: 4, leaseOwner: 'a' });
  });

  it('writes what one turn of the event loop made as one commit, however many promise callbacks apart', async () => {
    const { store, commits, release } = recordingStore();
    release();
    const writer = new SessionWriter('ses_1', store, durable, () => undefined);
    // A run streams its last tokens, and its end reaches the machine some promise callbacks later.
    writer.add(marked('token 1'));
    writer.add(marked('token 2'));
    for (let i = 0; i < 10; i++) await Promise.resolve();
    writer.add(marked('end', { lease: { release: true } }));
    await writer.settled();
    expect(commits.map((commit) => commit.removeMessages)).toEqual([['token 1', 'token 2', 'end']]);
    // The next turn's changes make the next commit.
    writer.add(marked('later'));
    await writer.settled();
    expect(commits.map((commit) => commit.removeMessages)).toEqual([['token 1', 'token 2', 'end'], ['later']]);
  });
});

/** Past every promise callback and I/O of this turn of the event loop. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
