/**
 * The PostgreSQL feed's listening connection can die without a word. Here a
 * connection that stops answering (as behind a partition) is found by the
 * heartbeat, replaced, and what was written since it last answered is
 * announced, and the commands addressed to it meanwhile are taken. The connection is a stand-in: silence is what is under test.
 */
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { OWNER_GRACE_MS, type OwnerCommand } from '../../src/runtime/ports.js';
import { PgFeed } from '../../src/storage/postgres/feed.js';
import type { PgStore } from '../../src/storage/postgres/pg-store.js';

class Listener extends EventEmitter {
  /** Once silent, queries never answer. */
  silent = false;
  async connect(): Promise<void> {}
  query(text: string): Promise<unknown> {
    if (this.silent && text === 'SELECT 1') return new Promise(() => undefined);
    return Promise.resolve({ rows: [] });
  }
  async end(): Promise<void> {}
}

describe('PgFeed heartbeat', () => {
  it('replaces a listening connection that stops answering, announces what changed since it last answered, and takes the commands it missed', async () => {
    const listeners: Listener[] = [];
    const asked: string[] = [];
    const taken: [string, number][] = [];
    const commands: [string, OwnerCommand][] = [];
    const store = {
      listener: () => {
        const listener = new Listener();
        listeners.push(listener);
        return listener as unknown as pg.Client;
      },
      changedSince: async (since: string) => {
        asked.push(since);
        return [{ id: 'ses_a', lastSeq: 7 }];
      },
      takePendingCommands: async (owner: string, withinMs: number) => {
        taken.push([owner, withinMs]);
        return [{ sessionId: 'ses_b', command: JSON.stringify({ kind: 'dequeue', messageId: 'msg_1' }) }];
      },
    } as unknown as PgStore;
    const announced: [string, number][] = [];
    const feed = new PgFeed(store, { instanceId: 'a', heartbeatMs: 50, minBackoffMs: 10 });
    await feed.start({ announced: (id, seq) => announced.push([id, seq]), deleted: () => undefined, commandRequested: (id, command) => commands.push([id, command]) });
    try {
      await new Promise((resolve) => setTimeout(resolve, 120));
      const lastAnswer = Date.now();
      listeners[0]!.silent = true;
      for (let i = 0; i < 100 && announced.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(listeners.length).toBeGreaterThanOrEqual(2);
      expect(feed.listening).toBe(true);
      expect(announced).toEqual([['ses_a', 7]]);
      // Commands notified while it was deaf are taken, if their askers still wait.
      await expect.poll(() => commands).toEqual([['ses_b', { kind: 'dequeue', messageId: 'msg_1' }]]);
      expect(taken).toEqual([['a', OWNER_GRACE_MS]]);
      // From before its last answer (less the margin for clocks), not from when the silence was noticed.
      expect(Date.parse(asked[0]!)).toBeLessThanOrEqual(lastAnswer - 30_000);
    } finally {
      await feed.close();
    }
  });
});
