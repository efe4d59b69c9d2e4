/**
 * The storage contract: what every `Store` adapter must do, whatever its
 * database. An adapter's test calls `describeStoreContract` with a factory
 * that returns a fresh, empty store each time.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Message, SessionEvent, SessionState } from '../../src/domain/types.js';
import { SESSION_STATES } from '../../src/domain/types.js';
import type { Commit, IdempotencyRecord, SessionRow, Store } from '../../src/storage/store.js';
import { VersionConflict } from '../../src/storage/store.js';

export type StoreFactory = () => Store | Promise<Store>;

let clock = Date.parse('2025-03-01T00:00:00.000Z');
/** Increasing ISO times, so rows and records have distinct, ordered timestamps. */
export function tick(): string {
  clock += 1_000;
  return new Date(clock).toISOString();
}

export function sessionRow(id: string, overrides: Partial<SessionRow> = {}): SessionRow {
  const createdAt = tick();
  return {
    info: {
      id,
      title: `title of ${id}`,
      agent: 'demo',
      system_prompt: 'Be brief.',
      metadata: { team: 'blue', nested: { list: [1, 'two', null], flag: true } },
      created_at: createdAt,
    },
    state: 'idle',
    snapshot: JSON.stringify({ schema_version: 1, opaque: id }),
    version: 1,
    last_event_seq: 1,
    message_count: 0,
    updated_at: createdAt,
    ...overrides,
  };
}

export function event(sessionId: string, seq: number, type: SessionEvent['type'] = 'token', fields: Record<string, unknown> = {}): SessionEvent {
  return { seq, type, session_id: sessionId, at: tick(), ...fields };
}

export function message(n: number, fields: Partial<Message> = {}): Message {
  return { id: `msg_${n}`, role: n % 2 === 0 ? 'assistant' : 'user', content: `message ${n}`, created_at: tick(), ...fields };
}

export function describeStoreContract(name: string, makeStore: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await makeStore();
    });

    afterEach(async () => {
      await store.close();
    });

    /** Creates a session with its `session_created` event. */
    async function create(id: string, overrides: Partial<SessionRow> = {}): Promise<SessionRow> {
      const row = sessionRow(id, overrides);
      await store.createSession(row, [event(id, 1, 'session_created')]);
      return row;
    }

    /** A commit continuing the stored log with `count` events and the given messages. */
    async function continueLog(id: string, count: number, fields: Partial<Commit> = {}): Promise<Commit> {
      const row = (await store.loadSession(id))!;
      const events = Array.from({ length: count }, (_, i) => event(id, row.last_event_seq + 1 + i, 'token', { text: `t${i}` }));
      const commit: Commit = { sessionId: id, expectedVersion: row.version, updatedAt: tick(), events, messages: [], ...fields };
      await store.commit(commit);
      return commit;
    }

    describe('sessions', () => {
      it('loads what was created, exactly', async () => {
        const row = await create('ses_a');
        expect(await store.loadSession('ses_a')).toEqual(row);
      });

      it('loads null for an unknown id', async () => {
        expect(await store.loadSession('ses_missing')).toBeNull();
      });

      it('stores the events given at creation', async () => {
        await create('ses_a');
        const events = await store.readEvents('ses_a', 0, 10);
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ seq: 1, type: 'session_created', session_id: 'ses_a' });
      });

      it('refuses a second session with the same id and keeps the first', async () => {
        const first = await create('ses_a');
        await expect(store.createSession(sessionRow('ses_a', { state: 'completed' }), [event('ses_a', 1, 'session_created')])).rejects.toThrow();
        expect(await store.loadSession('ses_a')).toEqual(first);
        expect(await store.readEvents('ses_a', 0, 10)).toHaveLength(1);
      });
    });

    describe('commit', () => {
      it('moves the state, replaces the snapshot, bumps the version and appends events and messages', async () => {
        await create('ses_a');
        const reply = message(2, { run_id: 'run_1' });
        const commit: Commit = {
          sessionId: 'ses_a',
          expectedVersion: 1,
          updatedAt: tick(),
          snapshot: { state: 'running', data: '{"next":true}' },
          events: [event('ses_a', 2, 'message_appended', { message: reply }), event('ses_a', 3, 'run_started', { run_id: 'run_1' })],
          messages: [reply],
        };
        await store.commit(commit);

        const row = (await store.loadSession('ses_a'))!;
        expect(row).toMatchObject({ state: 'running', snapshot: '{"next":true}', version: 2, last_event_seq: 3, message_count: 1, updated_at: commit.updatedAt });
        expect(await store.readEvents('ses_a', 0, 10)).toEqual([expect.objectContaining({ seq: 1 }), ...commit.events]);
        expect((await store.readMessages('ses_a', { limit: 10 })).items).toEqual([reply]);
      });

      it('without a snapshot keeps the state and snapshot, and still bumps the version', async () => {
        const created = await create('ses_a');
        const commit = await continueLog('ses_a', 2);
        const row = (await store.loadSession('ses_a'))!;
        expect(row).toMatchObject({ state: created.state, snapshot: created.snapshot, version: 2, last_event_seq: 3, updated_at: commit.updatedAt });
      });

      it('successive commits each need the version the last one left', async () => {
        await create('ses_a');
        for (let version = 1; version <= 5; version++) {
          await store.commit({ sessionId: 'ses_a', expectedVersion: version, updatedAt: tick(), events: [event('ses_a', version + 1)], messages: [] });
        }
        expect((await store.loadSession('ses_a'))!).toMatchObject({ version: 6, last_event_seq: 6 });
      });

      it.each([
        ['behind', 0],
        ['ahead', 2],
      ])('with an expectedVersion %s of the stored one fails with VersionConflict and writes nothing', async (_name, expectedVersion) => {
        const created = await create('ses_a');
        const commit: Commit = {
          sessionId: 'ses_a',
          expectedVersion,
          updatedAt: tick(),
          snapshot: { state: 'completed', data: '{}' },
          events: [event('ses_a', 2)],
          messages: [message(1)],
        };
        const failure = await store.commit(commit).then(
          () => null,
          (error: unknown) => error,
        );
        expect(failure).toBeInstanceOf(VersionConflict);
        expect((failure as Error).name).toBe('VersionConflict');
        expect(await store.loadSession('ses_a')).toEqual(created);
        expect(await store.readEvents('ses_a', 0, 10)).toHaveLength(1);
        expect((await store.readMessages('ses_a', { limit: 10 })).items).toEqual([]);
      });

      it('to an unknown session fails with VersionConflict', async () => {
        await expect(store.commit({ sessionId: 'ses_missing', expectedVersion: 1, updatedAt: tick(), events: [], messages: [] })).rejects.toBeInstanceOf(
          VersionConflict,
        );
      });

      it('two writers with the same expected version: exactly one wins, the other writes nothing', async () => {
        await create('ses_a');
        const writer = (state: SessionState, text: string): Commit => ({
          sessionId: 'ses_a',
          expectedVersion: 1,
          updatedAt: tick(),
          snapshot: { state, data: JSON.stringify({ state }) },
          events: [event('ses_a', 2, 'token', { text })],
          messages: [message(1, { content: text })],
        });
        const results = await Promise.allSettled([store.commit(writer('running', 'first')), store.commit(writer('completed', 'second'))]);
        const won = results.filter((result) => result.status === 'fulfilled');
        const lost = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]!.reason).toBeInstanceOf(VersionConflict);

        const winner = results[0]!.status === 'fulfilled' ? 'first' : 'second';
        const row = (await store.loadSession('ses_a'))!;
        expect(row).toMatchObject({ version: 2, last_event_seq: 2, message_count: 1, state: winner === 'first' ? 'running' : 'completed' });
        const events = await store.readEvents('ses_a', 0, 10);
        expect(events.map((e) => e.text ?? e.type)).toEqual(['session_created', winner]);
        expect((await store.readMessages('ses_a', { limit: 10 })).items.map((m) => m.content)).toEqual([winner]);
      });

      it('that cannot be written in full writes nothing: the state change and the log go together', async () => {
        const created = await create('ses_a');
        await expect(
          store.commit({
            sessionId: 'ses_a',
            expectedVersion: 1,
            updatedAt: tick(),
            snapshot: { state: 'running', data: '{"half":true}' },
            // seq 1 is taken: this event cannot be appended.
            events: [event('ses_a', 1, 'run_started')],
            messages: [message(1)],
          }),
        ).rejects.toThrow();
        expect(await store.loadSession('ses_a')).toEqual(created);
        expect((await store.readMessages('ses_a', { limit: 10 })).items).toEqual([]);
        expect(await store.readEvents('ses_a', 0, 10)).toHaveLength(1);
      });
    });

    describe('events', () => {
      it('form a gap-free log readable from any point, in order, with a limit', async () => {
        await create('ses_a');
        for (let i = 0; i < 3; i++) await continueLog('ses_a', 5);
        const all = await store.readEvents('ses_a', 0, 1000);
        expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
        expect((await store.readEvents('ses_a', 7, 3)).map((e) => e.seq)).toEqual([8, 9, 10]);
        expect((await store.readEvents('ses_a', 14, 100)).map((e) => e.seq)).toEqual([15, 16]);
        expect(await store.readEvents('ses_a', 16, 100)).toEqual([]);
        expect(await store.readEvents('ses_a', 99, 100)).toEqual([]);
      });

      it('keep every field as written', async () => {
        await create('ses_a');
        const rich = event('ses_a', 2, 'question_asked', {
          run_id: 'run_1',
          question: { id: 'q_1', text: 'Pick — “one”', options: ['a', 'b'], allow_custom: false, asked_at: tick() },
          nested: { deep: [{ x: 1 }, null, 'ünïcödé 🚀'] },
        });
        await store.commit({ sessionId: 'ses_a', expectedVersion: 1, updatedAt: tick(), events: [rich], messages: [] });
        expect(await store.readEvents('ses_a', 1, 10)).toEqual([rich]);
      });

      it('belong to their session only', async () => {
        await create('ses_a');
        await create('ses_b');
        await continueLog('ses_a', 3);
        await continueLog('ses_b', 1);
        expect((await store.readEvents('ses_a', 0, 100)).every((e) => e.session_id === 'ses_a')).toBe(true);
        expect(await store.readEvents('ses_b', 0, 100)).toHaveLength(2);
        expect(await store.readEvents('ses_missing', 0, 100)).toEqual([]);
      });
    });

    describe('messages', () => {
      it('page oldest first with cursors, ending with a null cursor', async () => {
        await create('ses_a');
        const written: Message[] = [];
        for (let batch = 0; batch < 5; batch++) {
          const messages = Array.from({ length: 5 }, (_, i) => message(batch * 5 + i + 1));
          written.push(...messages);
          await continueLog('ses_a', 1, { messages });
        }
        expect((await store.loadSession('ses_a'))!.message_count).toBe(25);

        const pages: Message[][] = [];
        let cursor: string | undefined;
        for (;;) {
          const page = await store.readMessages('ses_a', { limit: 10, cursor });
          pages.push(page.items);
          if (page.nextCursor === null) break;
          expect(typeof page.nextCursor).toBe('string');
          cursor = page.nextCursor;
        }
        expect(pages.map((page) => page.length)).toEqual([10, 10, 5]);
        expect(pages.flat()).toEqual(written);
      });

      it('a last page that is exactly full has a null cursor', async () => {
        await create('ses_a');
        await continueLog('ses_a', 1, { messages: Array.from({ length: 4 }, (_, i) => message(i + 1)) });
        const first = await store.readMessages('ses_a', { limit: 2 });
        expect(first.nextCursor).not.toBeNull();
        const second = await store.readMessages('ses_a', { limit: 2, cursor: first.nextCursor! });
        expect(second.items.map((m) => m.id)).toEqual(['msg_3', 'msg_4']);
        expect(second.nextCursor).toBeNull();
      });

      it('keep optional fields: run_id, tool_call_id, tool_calls', async () => {
        await create('ses_a');
        const messages: Message[] = [
          message(1),
          message(2, { run_id: 'run_1', tool_calls: [{ id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' }] }),
          message(3, { role: 'tool', tool_call_id: 'call_1', content: 'result' }),
        ];
        await continueLog('ses_a', 1, { messages });
        expect((await store.readMessages('ses_a', { limit: 10 })).items).toEqual(messages);
      });

      it('are empty for a session without any, and for an unknown one', async () => {
        await create('ses_a');
        expect(await store.readMessages('ses_a', { limit: 10 })).toEqual({ items: [], nextCursor: null });
        expect(await store.readMessages('ses_missing', { limit: 10 })).toEqual({ items: [], nextCursor: null });
      });
    });

    describe('listing and counting', () => {
      const ids = Array.from({ length: 7 }, (_, i) => `ses_${i}`);

      async function createAll(): Promise<void> {
        for (const id of ids) await create(id);
        // Moving a session does not change its place: the order is by creation.
        for (const id of ['ses_1', 'ses_4', 'ses_5']) {
          await store.commit({ sessionId: id, expectedVersion: 1, updatedAt: tick(), snapshot: { state: 'completed', data: '{}' }, events: [event(id, 2)], messages: [] });
        }
        await store.commit({ sessionId: 'ses_2', expectedVersion: 1, updatedAt: tick(), snapshot: { state: 'running', data: '{}' }, events: [event('ses_2', 2)], messages: [] });
      }

      async function listAll(limit: number, state?: SessionState): Promise<string[][]> {
        const pages: string[][] = [];
        let cursor: string | undefined;
        for (;;) {
          const page = await store.listSessions({ limit, cursor, state });
          pages.push(page.items.map((row) => row.info.id));
          if (page.nextCursor === null) return pages;
          cursor = page.nextCursor;
        }
      }

      it('lists newest first, in pages, each session once', async () => {
        await createAll();
        const pages = await listAll(3);
        expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
        expect(pages.flat()).toEqual([...ids].reverse());
        const first = await store.listSessions({ limit: 1 });
        expect(first.items[0]).toEqual(await store.loadSession('ses_6'));
      });

      it('filters by state, still newest first and paged', async () => {
        await createAll();
        expect((await listAll(2, 'completed')).flat()).toEqual(['ses_5', 'ses_4', 'ses_1']);
        expect((await listAll(2, 'completed')).map((page) => page.length)).toEqual([2, 1]);
        expect((await listAll(10, 'idle')).flat()).toEqual(['ses_6', 'ses_3', 'ses_0']);
        expect((await listAll(10, 'awaitingUser')).flat()).toEqual([]);
      });

      it('lists nothing when there is nothing', async () => {
        expect(await store.listSessions({ limit: 10 })).toEqual({ items: [], nextCursor: null });
      });

      it('names the sessions in a state', async () => {
        await createAll();
        expect((await store.sessionIdsInState('completed')).sort()).toEqual(['ses_1', 'ses_4', 'ses_5']);
        expect(await store.sessionIdsInState('running')).toEqual(['ses_2']);
        expect(await store.sessionIdsInState('awaitingUser')).toEqual([]);
      });

      it('counts sessions by state, every state present', async () => {
        expect(await store.countByState()).toEqual(Object.fromEntries(SESSION_STATES.map((state) => [state, 0])));
        await createAll();
        expect(await store.countByState()).toEqual({ idle: 3, running: 1, awaitingUser: 0, completed: 3 });
      });
    });

    describe('delete', () => {
      it('removes the session with its messages and events, and nothing else', async () => {
        await create('ses_a');
        const keep = await create('ses_b');
        await continueLog('ses_a', 3, { messages: [message(1), message(2)] });
        await continueLog('ses_b', 1, { messages: [message(3)] });
        const keptEvents = await store.readEvents('ses_b', 0, 100);

        expect(await store.deleteSession('ses_a')).toBe(true);
        expect(await store.loadSession('ses_a')).toBeNull();
        expect(await store.readEvents('ses_a', 0, 100)).toEqual([]);
        expect(await store.readMessages('ses_a', { limit: 100 })).toEqual({ items: [], nextCursor: null });
        expect((await store.listSessions({ limit: 10 })).items.map((row) => row.info.id)).toEqual(['ses_b']);
        expect(await store.countByState()).toMatchObject({ idle: 1 });

        expect((await store.loadSession('ses_b'))!.version).toBe(keep.version + 1);
        expect(await store.readEvents('ses_b', 0, 100)).toEqual(keptEvents);
        expect((await store.readMessages('ses_b', { limit: 100 })).items).toHaveLength(1);
      });

      it('answers false for an unknown session', async () => {
        expect(await store.deleteSession('ses_missing')).toBe(false);
      });

      it('leaves nothing behind for a session created again with the same id', async () => {
        await create('ses_a');
        await continueLog('ses_a', 2, { messages: [message(1)] });
        await store.deleteSession('ses_a');
        const again = await create('ses_a');
        expect(await store.loadSession('ses_a')).toEqual(again);
        expect(await store.readEvents('ses_a', 0, 100)).toHaveLength(1);
        expect((await store.readMessages('ses_a', { limit: 100 })).items).toEqual([]);
      });
    });

    describe('idempotency keys', () => {
      const record = (key: string, fields: Partial<IdempotencyRecord> = {}): IdempotencyRecord => ({
        key,
        method: 'POST',
        path: '/api/v1/sessions',
        bodyHash: 'sha256:abc',
        status: 201,
        body: '{"session":{"id":"ses_1"}}',
        createdAt: tick(),
        ...fields,
      });

      it('stores and returns a record', async () => {
        const stored = record('key-1');
        await store.putIdempotency(stored);
        expect(await store.getIdempotency('key-1')).toEqual(stored);
      });

      it('answers null for an unknown key', async () => {
        expect(await store.getIdempotency('nope')).toBeNull();
      });

      it('keeps the first record for a key', async () => {
        const first = record('key-1');
        await store.putIdempotency(first);
        await store.putIdempotency(record('key-1', { bodyHash: 'sha256:other', status: 202, body: '{}' }));
        expect(await store.getIdempotency('key-1')).toEqual(first);
      });

      it('purges records created before a time, and only those', async () => {
        const old1 = record('old-1');
        const old2 = record('old-2');
        const cutoff = tick();
        const fresh = record('fresh');
        for (const r of [old1, old2, fresh]) await store.putIdempotency(r);
        expect(await store.purgeIdempotency(cutoff)).toBe(2);
        expect(await store.getIdempotency('old-1')).toBeNull();
        expect(await store.getIdempotency('old-2')).toBeNull();
        expect(await store.getIdempotency('fresh')).toEqual(fresh);
        expect(await store.purgeIdempotency(cutoff)).toBe(0);
      });
    });

    it('answers a ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
