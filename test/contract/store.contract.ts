/**
 * The storage contract: what every `Store` adapter must do, whatever its
 * database. An adapter's test calls `describeStoreContract` with a factory
 * that returns a fresh, empty store each time.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../src/domain/events.js';
import type { Message, RunStatus, SessionState } from '../../src/domain/types.js';
import { SESSION_STATES } from '../../src/domain/types.js';
import type { ApiKeyRecord, Commit, IdempotencyRecord, ServerStore, SessionRow } from '../../src/storage/store.js';
import { IdempotencyKeyTaken, TooManyRuns, VersionConflict } from '../../src/storage/store.js';
import { describeOutboxContract } from './outbox.contract.js';

export type StoreFactory = () => ServerStore | Promise<ServerStore>;

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
      tenant: 'default',
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
    lease_owner: null,
    lease_epoch: 0,
    ...overrides,
  };
}

/** A snapshot for a commit: the state, opaque data, and the last run's status. */
export function snap(state: SessionState, data = '{}', lastRunStatus: RunStatus | null = null): NonNullable<Commit['snapshot']> {
  return { state, data, lastRunStatus, queued: 0 };
}

export function event(sessionId: string, seq: number, type: SessionEvent['type'] = 'token', fields: Record<string, unknown> = {}): SessionEvent {
  // Payloads are opaque to the store: any fields do.
  return { seq, type, session_id: sessionId, at: tick(), ...fields } as SessionEvent;
}

export function message(n: number, fields: Partial<Message> = {}): Message {
  return { id: `msg_${n}`, role: n % 2 === 0 ? 'assistant' : 'user', content: `message ${n}`, created_at: tick(), ...fields };
}

export function describeStoreContract(name: string, makeStore: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    let store: ServerStore;

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
          snapshot: snap('running', '{"next":true}'),
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

      it('with an agent gives the session that agent; a conflicting one leaves the agent as it was', async () => {
        const created = await create('ses_a');
        await expect(continueLog('ses_a', 1, { expectedVersion: 0, agent: 'other' })).rejects.toBeInstanceOf(VersionConflict);
        expect((await store.loadSession('ses_a'))!.info.agent).toBe(created.info.agent);
        await continueLog('ses_a', 1, { messages: [message(1)], agent: 'other' });
        expect((await store.loadSession('ses_a'))!).toMatchObject({ info: { ...created.info, agent: 'other' }, version: 2, message_count: 1 });
        await continueLog('ses_a', 1);
        expect((await store.loadSession('ses_a'))!.info.agent).toBe('other');
        // The session's other attributes stay exactly as written, NUL characters and all.
        const info = { ...sessionRow('ses_b').info, title: 'a\u0000b', metadata: { note: 'x\u0000y', nested: { n: 1.5 } } };
        await create('ses_b', { info });
        await continueLog('ses_b', 1, { agent: 'other' });
        expect((await store.loadSession('ses_b'))!.info).toEqual({ ...info, agent: 'other' });
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
          snapshot: snap('completed', '{}'),
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
          snapshot: snap(state, JSON.stringify({ state })),
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
        expect(events.map((e) => (e.type === 'token' ? e.text : e.type))).toEqual(['session_created', winner]);
        expect((await store.readMessages('ses_a', { limit: 10 })).items.map((m) => m.content)).toEqual([winner]);
      });

      it('writes sent together stand or fall alone: a failing one writes nothing, the others all land', async () => {
        for (const id of ['ses_a', 'ses_b', 'ses_c']) await create(id);
        await continueLog('ses_b', 1, { messages: [message(1, { id: 'msg_keep' })] });
        const step = (id: string, expectedVersion: number, fields: Partial<Commit> = {}): Commit => ({
          sessionId: id,
          expectedVersion,
          updatedAt: tick(),
          events: [event(id, expectedVersion + 1, 'token', { text: id })],
          messages: [],
          ...fields,
        });
        // The middle one names a stale version, after a removal that must not stay done.
        const results = await Promise.allSettled([
          store.commit(step('ses_a', 1)),
          store.commit(step('ses_b', 1, { removeMessages: ['msg_keep'] })),
          store.createSession(sessionRow('ses_d'), [event('ses_d', 1, 'session_created')]),
          store.commit(step('ses_c', 1)),
        ]);
        expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
        expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(VersionConflict);
        for (const id of ['ses_a', 'ses_c']) expect((await store.loadSession(id))!.version).toBe(2);
        expect(await store.loadSession('ses_d')).not.toBeNull();
        expect((await store.loadSession('ses_b'))!).toMatchObject({ version: 2, message_count: 1 });
        expect((await store.readMessages('ses_b', { limit: 10 })).items.map((m) => m.id)).toEqual(['msg_keep']);
      });

      it('that cannot be written in full writes nothing: the state change and the log go together', async () => {
        const created = await create('ses_a');
        await expect(
          store.commit({
            sessionId: 'ses_a',
            expectedVersion: 1,
            updatedAt: tick(),
            snapshot: snap('running', '{"half":true}'),
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
          await store.commit({ sessionId: id, expectedVersion: 1, updatedAt: tick(), snapshot: snap('completed', '{}'), events: [event(id, 2)], messages: [] });
        }
        await store.commit({ sessionId: 'ses_2', expectedVersion: 1, updatedAt: tick(), snapshot: snap('running', '{}'), events: [event('ses_2', 2)], messages: [] });
      }

      async function listAll(limit: number, state?: SessionState): Promise<string[][]> {
        const pages: string[][] = [];
        let cursor: string | undefined;
        for (;;) {
          const page = await store.listSessions({ tenant: 'default', limit, cursor, state });
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
        const first = await store.listSessions({ tenant: 'default', limit: 1 });
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
        expect(await store.listSessions({ tenant: 'default', limit: 10 })).toEqual({ items: [], nextCursor: null });
      });

      it('names the running sessions', async () => {
        await createAll();
        expect(await store.runningSessions()).toEqual(['ses_2']);
      });

      it("lists a tenant's sessions only", async () => {
        await createAll();
        await create('ses_acme_1', { info: { ...sessionRow('x').info, id: 'ses_acme_1', tenant: 'acme' } });
        await create('ses_acme_2', { info: { ...sessionRow('x').info, id: 'ses_acme_2', tenant: 'acme' } });
        const acme = await store.listSessions({ tenant: 'acme', limit: 10 });
        expect(acme.items.map((row) => row.info.id)).toEqual(['ses_acme_2', 'ses_acme_1']);
        expect(acme.items.every((row) => row.info.tenant === 'acme')).toBe(true);
        expect((await listAll(100)).flat()).not.toContain('ses_acme_1');
        expect(await store.listSessions({ tenant: 'nobody', limit: 10 })).toEqual({ items: [], nextCursor: null });
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
        expect((await store.listSessions({ tenant: 'default', limit: 10 })).items.map((row) => row.info.id)).toEqual(['ses_b']);
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

    describe('idempotency records', () => {
      const record = (key: string, fields: Partial<IdempotencyRecord> = {}): IdempotencyRecord => ({
        tenant: 'default',
        key,
        method: 'POST',
        path: '/api/v1/sessions',
        bodyHash: 'sha256:abc',
        status: 201,
        body: '{"session":{"id":"ses_1"}}',
        createdAt: tick(),
        ...fields,
      });

      it('are stored with the session they acknowledge, and with a commit', async () => {
        const created = record('create-1');
        await store.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')], created);
        const appended = record('append-1', { path: '/api/v1/sessions/ses_a/messages', status: 202 });
        const other = record('append-2', { path: '/api/v1/sessions/ses_a/messages', status: 202 });
        await continueLog('ses_a', 1, { idempotency: [appended, other] });
        expect(await store.getIdempotency('default', 'create-1')).toEqual(created);
        expect(await store.getIdempotency('default', 'append-1')).toEqual(appended);
        expect(await store.getIdempotency('default', 'append-2')).toEqual(other);
      });

      it('are kept alone, for a change another instance committed, only when the key is free', async () => {
        const kept = record('queued-1', { path: '/api/v1/sessions/ses_a/messages', status: 202 });
        expect(await store.keepIdempotency(kept)).toBe(true);
        expect(await store.keepIdempotency(record('queued-1', { body: '{}' }))).toBe(false);
        expect(await store.keepIdempotency(record('queued-1', { tenant: 'acme' }))).toBe(true);
        expect(await store.getIdempotency('default', 'queued-1')).toEqual(kept);
      });

      it('answer null for an unknown key, or another tenant\'s', async () => {
        await store.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')], record('key-1'));
        expect(await store.getIdempotency('default', 'nope')).toBeNull();
        expect(await store.getIdempotency('acme', 'key-1')).toBeNull();
      });

      it('a key stored before fails the whole commit with IdempotencyKeyTaken, writing nothing, and keeps the first record', async () => {
        const first = record('key-1');
        await create('ses_a');
        await continueLog('ses_a', 1, { idempotency: [first] });
        const before = (await store.loadSession('ses_a'))!;
        const failure = await continueLog('ses_a', 2, { idempotency: [record('key-1', { status: 202, body: '{}' })], messages: [message(1)] }).then(
          () => null,
          (error: unknown) => error,
        );
        expect(failure).toBeInstanceOf(IdempotencyKeyTaken);
        expect(failure).toMatchObject({ tenant: 'default', key: 'key-1' });
        expect(await store.loadSession('ses_a')).toEqual(before);
        expect((await store.readMessages('ses_a', { limit: 10 })).items).toEqual([]);
        expect(await store.getIdempotency('default', 'key-1')).toEqual(first);
      });

      it('a key stored before fails a creation too, which creates nothing', async () => {
        await store.createSession(sessionRow('ses_a'), [event('ses_a', 1, 'session_created')], record('key-1'));
        await expect(store.createSession(sessionRow('ses_b'), [event('ses_b', 1, 'session_created')], record('key-1'))).rejects.toBeInstanceOf(
          IdempotencyKeyTaken,
        );
        expect(await store.loadSession('ses_b')).toBeNull();
      });

      it('the same key from two tenants is two records', async () => {
        await create('ses_a');
        await continueLog('ses_a', 1, { idempotency: [record('shared')] });
        await continueLog('ses_a', 1, { idempotency: [record('shared', { tenant: 'acme', status: 202 })] });
        expect((await store.getIdempotency('default', 'shared'))!.status).toBe(201);
        expect((await store.getIdempotency('acme', 'shared'))!.status).toBe(202);
      });

      it('purges records created before a time, and only those', async () => {
        await create('ses_a');
        const old1 = record('old-1');
        const old2 = record('old-2');
        const cutoff = tick();
        const fresh = record('fresh');
        await continueLog('ses_a', 1, { idempotency: [old1, old2, fresh] });
        expect(await store.purgeIdempotency(cutoff)).toBe(2);
        expect(await store.getIdempotency('default', 'old-1')).toBeNull();
        expect(await store.getIdempotency('default', 'old-2')).toBeNull();
        expect(await store.getIdempotency('default', 'fresh')).toEqual(fresh);
        expect(await store.purgeIdempotency(cutoff)).toBe(0);
      });
    });

    describe('run leases', () => {
      /** Moves the session into `running` with a lease of `ttlMs` for `owner`, as a run start does. */
      async function startRun(id: string, owner: string, ttlMs: number, epoch = 1): Promise<void> {
        await continueLog(id, 1, { snapshot: snap('running', '{"run":1}', 'running'), lease: { owner, epoch, ttlMs } });
      }

      it('a run start takes the lease in its commit; the run end gives it back', async () => {
        await create('ses_a');
        await startRun('ses_a', 'instance-a', 60_000, 7);
        expect(await store.loadSession('ses_a')).toMatchObject({ state: 'running', lease_owner: 'instance-a', lease_epoch: 7 });
        await continueLog('ses_a', 1, { snapshot: snap('completed', '{}', 'completed'), lease: { release: true } });
        expect(await store.loadSession('ses_a')).toMatchObject({ state: 'completed', lease_owner: null, lease_epoch: 7 });
      });

      it('expired leases are found; live ones are not', async () => {
        for (const id of ['ses_live', 'ses_dead', 'ses_idle']) await create(id);
        await startRun('ses_live', 'instance-a', 60_000);
        await startRun('ses_dead', 'instance-b', -1_000);
        expect(await store.expiredRuns()).toEqual(['ses_dead']);
        expect((await store.runningSessions()).sort()).toEqual(['ses_dead', 'ses_live']);
      });

      it('a running session without a lease counts as expired', async () => {
        await create('ses_a');
        await continueLog('ses_a', 1, { snapshot: snap('running') });
        expect(await store.expiredRuns()).toEqual(['ses_a']);
      });

      it("renewal extends the owner's leases only, of running sessions only, without changing the version", async () => {
        for (const id of ['ses_a', 'ses_b', 'ses_c']) await create(id);
        await startRun('ses_a', 'instance-a', -1_000);
        await startRun('ses_b', 'instance-b', -1_000);
        const version = (await store.loadSession('ses_a'))!.version;
        expect(await store.renewLeases('instance-a', ['ses_a', 'ses_b', 'ses_c', 'ses_missing'], 60_000)).toEqual(['ses_a']);
        expect(await store.expiredRuns()).toEqual(['ses_b']);
        expect((await store.loadSession('ses_a'))!.version).toBe(version);
        expect(await store.renewLeases('instance-a', [], 60_000)).toEqual([]);
      });

      it('a released lease cannot be renewed', async () => {
        await create('ses_a');
        await startRun('ses_a', 'instance-a', 60_000);
        await continueLog('ses_a', 1, { snapshot: snap('idle', '{}', 'interrupted'), lease: { release: true } });
        expect(await store.renewLeases('instance-a', ['ses_a'], 60_000)).toEqual([]);
      });

      it('a commit fenced on an expired lease fails with VersionConflict while the lease is live, and lands once it has expired', async () => {
        await create('ses_a');
        await startRun('ses_a', 'instance-a', 60_000);
        const before = (await store.loadSession('ses_a'))!;
        const fenced = { snapshot: snap('idle', '{}', 'interrupted'), lease: { release: true } as const, onlyIfLeaseExpired: true };
        await expect(continueLog('ses_a', 1, fenced)).rejects.toBeInstanceOf(VersionConflict);
        expect(await store.loadSession('ses_a')).toEqual(before);

        await create('ses_b');
        await startRun('ses_b', 'instance-a', -1_000);
        await continueLog('ses_b', 1, fenced);
        expect(await store.loadSession('ses_b')).toMatchObject({ state: 'idle', lease_owner: null });
      });

      it('names idle sessions whose last run was interrupted', async () => {
        for (const id of ['ses_a', 'ses_b', 'ses_c']) await create(id);
        await continueLog('ses_a', 1, { snapshot: snap('idle', '{}', 'interrupted') });
        await continueLog('ses_b', 1, { snapshot: snap('idle', '{}', 'cancelled') });
        await continueLog('ses_c', 1, { snapshot: snap('running', '{}', 'interrupted') });
        expect(await store.interruptedSessions()).toEqual(['ses_a']);
      });
    });

    describe('run limits', () => {
      /** Starts a run of `id` (creating it for `tenant` if needed), with the tenant limited to `max` runs. */
      async function start(id: string, tenant: string, max: number): Promise<void> {
        if (!(await store.loadSession(id))) await create(id, { info: { ...sessionRow(id).info, tenant } });
        await continueLog(id, 1, { snapshot: snap('running'), lease: { owner: 'i', epoch: 1, ttlMs: 60_000 }, runLimit: { tenant, max } });
      }

      it("refuses a run start past the tenant's limit with TooManyRuns, writing nothing; other tenants and ended runs make room", async () => {
        await start('ses_a', 'acme', 2);
        await start('ses_b', 'acme', 2);
        await create('ses_c', { info: { ...sessionRow('ses_c').info, tenant: 'acme' } });
        const before = (await store.loadSession('ses_c'))!;
        const refusal = await start('ses_c', 'acme', 2).then(
          () => null,
          (error: unknown) => error,
        );
        expect(refusal).toBeInstanceOf(TooManyRuns);
        expect(await store.loadSession('ses_c')).toEqual(before);
        await start('ses_other', 'beta', 2);
        // A run that ends gives its place back.
        await continueLog('ses_a', 1, { snapshot: snap('completed'), lease: { release: true } });
        await start('ses_c', 'acme', 2);
        expect((await store.loadSession('ses_c'))!.state).toBe('running');
      });

      it('tells a stale run start of its version conflict, not of the limit', async () => {
        await start('ses_a', 'acme', 1);
        await create('ses_b', { info: { ...sessionRow('ses_b').info, tenant: 'acme' } });
        const stale = store.commit({ sessionId: 'ses_b', expectedVersion: 7, updatedAt: tick(), events: [], messages: [], snapshot: snap('running'), lease: { owner: 'i', epoch: 1, ttlMs: 60_000 }, runLimit: { tenant: 'acme', max: 1 } });
        await expect(stale).rejects.toBeInstanceOf(VersionConflict);
      });

      it('racing run starts of one tenant: exactly as many as the limit win', async () => {
        const ids = Array.from({ length: 8 }, (_, i) => `ses_race${i}`);
        for (const id of ids) await create(id, { info: { ...sessionRow(id).info, tenant: 'acme' } });
        const results = await Promise.allSettled(ids.map((id) => start(id, 'acme', 3)));
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(3);
        expect(results.every((result) => result.status === 'fulfilled' || result.reason instanceof TooManyRuns)).toBe(true);
      });

      it('a deleted running session gives its place back', async () => {
        await start('ses_a', 'acme', 1);
        await store.deleteSession('ses_a');
        await start('ses_b', 'acme', 1);
      });
    });

    describe('rollbacks and queues', () => {
      it('removes messages by id, keeps the count exact, and never reuses a position', async () => {
        await create('ses_a');
        const written = Array.from({ length: 4 }, (_, i) => message(i + 1));
        await continueLog('ses_a', 1, { messages: written });
        await continueLog('ses_a', 1, { removeMessages: ['msg_2', 'msg_4'], messages: [message(5)] });
        const row = (await store.loadSession('ses_a'))!;
        expect(row.message_count).toBe(3);
        const page = await store.readMessages('ses_a', { limit: 10 });
        expect(page.items.map((m) => m.id)).toEqual(['msg_1', 'msg_3', 'msg_5']);
        expect(await store.readRecentMessages('ses_a', 2)).toEqual([written[2], message(5, { created_at: page.items[2]!.created_at })]);
      });

      it('names the free sessions (idle or completed) with messages queued', async () => {
        for (const id of ['ses_a', 'ses_b', 'ses_c', 'ses_d']) await create(id);
        await continueLog('ses_a', 1, { snapshot: { ...snap('idle'), queued: 2 } });
        await continueLog('ses_b', 1, { snapshot: { ...snap('running'), queued: 1 } });
        // A queue waits while a question is open.
        await continueLog('ses_c', 1, { snapshot: { ...snap('awaitingUser'), queued: 1 } });
        await continueLog('ses_d', 1, { snapshot: { ...snap('completed'), queued: 1 } });
        expect(await store.queuedSessions()).toEqual(['ses_a', 'ses_d']);
        await continueLog('ses_a', 1, { snapshot: snap('running') });
        expect(await store.queuedSessions()).toEqual(['ses_d']);
      });
    });

    describe('API keys', () => {
      const key = (id: string, fields: Partial<ApiKeyRecord> = {}) => ({ id, tenant: 'acme', name: 'ci', hash: `hash-${id}`, created_at: tick(), ...fields });

      it('are stored, found by hash until revoked, listed with their revocation, counted while active', async () => {
        expect(await store.countActiveApiKeys()).toBe(0);
        await store.createApiKey(key('key_1'));
        await store.createApiKey(key('key_2', { tenant: 'beta', name: null }));
        expect(await store.findApiKey('hash-key_1')).toMatchObject({ id: 'key_1', tenant: 'acme', revoked_at: null });
        expect(await store.countActiveApiKeys()).toBe(2);
        expect(await store.revokeApiKey('key_1', tick())).toBe(true);
        expect(await store.revokeApiKey('key_1', tick())).toBe(false);
        expect(await store.revokeApiKey('key_none', tick())).toBe(false);
        expect(await store.findApiKey('hash-key_1')).toBeNull();
        expect(await store.countActiveApiKeys()).toBe(1);
        const listed = await store.listApiKeys();
        expect(listed.map((k) => [k.id, k.revoked_at === null])).toEqual([
          ['key_1', false],
          ['key_2', true],
        ]);
      });

      it('refuse a second key with the same hash', async () => {
        await store.createApiKey(key('key_1'));
        await expect(store.createApiKey(key('key_2', { hash: 'hash-key_1' }))).rejects.toThrow();
      });
    });

    describe('versions and windows', () => {
      it('answers the stored version, or null', async () => {
        await create('ses_a');
        expect(await store.sessionVersion('ses_a')).toBe(1);
        await continueLog('ses_a', 1);
        expect(await store.sessionVersion('ses_a')).toBe(2);
        expect(await store.sessionVersion('ses_missing')).toBeNull();
      });

      it('stops a page of events at the byte budget, always with at least one event', async () => {
        await create('ses_a');
        const big = 'x'.repeat(1_000);
        await continueLog('ses_a', 0, { events: [2, 3, 4, 5].map((seq) => event('ses_a', seq, 'token', { text: big })) });
        const all = await store.readEvents('ses_a', 1, 100);
        expect(all).toHaveLength(4);
        const size = JSON.stringify(all[0]).length;
        expect((await store.readEvents('ses_a', 1, 100, size * 2 + 10)).map((e) => e.seq)).toEqual([2, 3]);
        expect((await store.readEvents('ses_a', 1, 100, 10)).map((e) => e.seq)).toEqual([2]);
        expect((await store.readEvents('ses_a', 3, 100, size * 2 + 10)).map((e) => e.seq)).toEqual([4, 5]);
      });

      it('counts the byte budget alike for any text: characters beyond the BMP count as two', async () => {
        await create('ses_a');
        const wide = '😀'.repeat(500);
        await continueLog('ses_a', 0, { events: [2, 3, 4, 5].map((seq) => event('ses_a', seq, 'token', { text: wide })) });
        const size = JSON.stringify((await store.readEvents('ses_a', 1, 1))[0]).length;
        expect((await store.readEvents('ses_a', 1, 100, size * 3 + 10)).map((e) => e.seq)).toEqual([2, 3, 4]);
      });

      it('stops a page of messages at the byte budget, with a cursor to the rest', async () => {
        await create('ses_a');
        const written = Array.from({ length: 5 }, (_, i) => message(i + 1, { content: 'y'.repeat(2_000) }));
        await continueLog('ses_a', 1, { messages: written });
        const size = JSON.stringify(written[0]).length;
        const first = await store.readMessages('ses_a', { limit: 100, maxBytes: size * 2 + 10 });
        expect(first.items.map((m) => m.id)).toEqual(['msg_1', 'msg_2']);
        expect(first.nextCursor).not.toBeNull();
        const second = await store.readMessages('ses_a', { limit: 100, cursor: first.nextCursor!, maxBytes: 1 });
        expect(second.items.map((m) => m.id)).toEqual(['msg_3']);
        const rest = await store.readMessages('ses_a', { limit: 100, cursor: second.nextCursor! });
        expect(rest).toEqual({ items: written.slice(3), nextCursor: null });
      });

      it("counts a tenant's sessions and the bytes of their logs and transcripts", async () => {
        expect(await store.tenantUsage('default')).toEqual({ sessions: 0, bytes: 0 });
        await create('ses_a');
        await create('ses_b');
        const start = await store.tenantUsage('default');
        expect(start.sessions).toBe(2);
        await continueLog('ses_a', 1, { messages: [message(1, { content: 'z'.repeat(5_000) })] });
        const grown = await store.tenantUsage('default');
        expect(grown.bytes - start.bytes).toBeGreaterThan(5_000);
        expect(await store.tenantUsage('acme')).toEqual({ sessions: 0, bytes: 0 });
        await store.deleteSession('ses_a');
        expect((await store.tenantUsage('default')).sessions).toBe(1);
      });

      it('deletes idle sessions not changed since a time, in batches, never a running one', async () => {
        for (const id of ['ses_old1', 'ses_old2', 'ses_oldrunning']) await create(id);
        await continueLog('ses_old1', 1, { messages: [message(1)] });
        await continueLog('ses_oldrunning', 1, { snapshot: snap('running') });
        const cutoff = tick();
        await create('ses_new');
        expect(await store.deleteSessionsIdleSince(cutoff, 1)).toHaveLength(1);
        expect(await store.deleteSessionsIdleSince(cutoff, 10)).toHaveLength(1);
        expect(await store.deleteSessionsIdleSince(cutoff, 10)).toEqual([]);
        for (const id of ['ses_old1', 'ses_old2']) {
          expect(await store.loadSession(id)).toBeNull();
          expect(await store.readEvents(id, 0, 10)).toEqual([]);
        }
        expect((await store.readMessages('ses_old1', { limit: 10 })).items).toEqual([]);
        expect(await store.loadSession('ses_oldrunning')).not.toBeNull();
        expect(await store.loadSession('ses_new')).not.toBeNull();
      });

      it('answers a ping that writes', async () => {
        await expect(store.ping({ write: true })).resolves.toBeUndefined();
      });

      it('reads the latest messages, oldest first', async () => {
        await create('ses_a');
        const written = Array.from({ length: 7 }, (_, i) => message(i + 1));
        await continueLog('ses_a', 1, { messages: written.slice(0, 4) });
        await continueLog('ses_a', 1, { messages: written.slice(4) });
        expect(await store.readRecentMessages('ses_a', 3)).toEqual(written.slice(4));
        expect(await store.readRecentMessages('ses_a', 100)).toEqual(written);
        expect(await store.readRecentMessages('ses_missing', 3)).toEqual([]);
      });

      it('reads the latest messages within a byte budget counted in UTF-8, the newest always', async () => {
        await create('ses_a');
        // Two bytes a character in UTF-8, one unit in UTF-16: a budget counted in UTF-16 would let more in.
        const written = Array.from({ length: 6 }, (_, i) => message(i + 1, { content: 'é'.repeat(500 + i) }));
        await continueLog('ses_a', 1, { messages: written });
        const bytes = (messages: Message[]) => messages.reduce((sum, m) => sum + Buffer.byteLength(JSON.stringify(m)), 0);
        const latestTwo = bytes(written.slice(4));
        expect(await store.readRecentMessages('ses_a', 100, latestTwo)).toEqual(written.slice(4));
        expect(await store.readRecentMessages('ses_a', 100, latestTwo - 1)).toEqual(written.slice(5));
        expect(await store.readRecentMessages('ses_a', 100, 1)).toEqual(written.slice(5));
        expect(await store.readRecentMessages('ses_a', 2, Number.MAX_SAFE_INTEGER)).toEqual(written.slice(4));
        expect(await store.readRecentMessages('ses_a', Number.MAX_SAFE_INTEGER, bytes(written))).toEqual(written);
        expect(await store.readRecentMessages('ses_missing', 3, 1000)).toEqual([]);
      });
    });

    it('answers a ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describeOutboxContract(() => store);
  });
}
