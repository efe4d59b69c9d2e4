/**
 * Durable before told: a command's answer, a broadcast event and a session
 * view all wait for storage. Writes are held back at a gate to make the window
 * between "the actor moved" and "storage has it" as wide as needed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SessionEvent } from '../../src/domain/events.js';
import type { SessionRuntime } from '../../src/runtime/runtime.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Commit, Store } from '../../src/storage/store.js';
import { testRuntime, sleep, waitForState } from './helpers.js';

/** Holds back every commit that `holds` picks until `release()`. */
function gatedStore(holds: (commit: Commit) => boolean) {
  const inner = new SqliteStore(':memory:');
  const held: Commit[] = [];
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const store: Store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property === 'commit') {
        return async (commit: Commit) => {
          if (holds(commit)) {
            held.push(commit);
            await gate;
          }
          return inner.commit(commit);
        };
      }
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store, inner, held, release: () => open() };
}

const hasEvent = (type: string) => (commit: Commit) => commit.events.some((event) => event.type === type);

let runtime: SessionRuntime;

afterEach(async () => {
  await runtime?.shutdown();
});

describe('durable before told', () => {
  it('a command answers only once its change is stored', async () => {
    const gated = gatedStore(hasEvent('message_appended'));
    ({ runtime } = testRuntime({ store: gated.store }));
    await runtime.start();
    const session = await runtime.createSession();

    let answered = false;
    const appending = runtime.appendMessage(session.id, 'hold on', { resume: false }).then((result) => ((answered = true), result));
    await vi.waitFor(() => expect(gated.held).toHaveLength(1));
    await sleep(20);
    expect(answered).toBe(false);
    expect((await gated.inner.readMessages(session.id, { limit: 10 })).items).toEqual([]);

    gated.release();
    const result = await appending;
    expect((await gated.inner.readMessages(session.id, { limit: 10 })).items).toEqual([result.message]);
  });

  it('views and subscribers do not see a state change before it is stored', async () => {
    const gated = gatedStore(hasEvent('question_asked'));
    ({ runtime } = testRuntime({ store: gated.store }));
    await runtime.start();
    const session = await runtime.createSession();
    const delivered: SessionEvent[] = [];
    await runtime.subscribe(session.id, { deliver: ({ event }) => delivered.push(event), end: () => undefined });

    const started = await runtime.appendMessage(session.id, '/ask Ready? | yes | no');
    if (started.outcome !== 'Started') throw new Error('expected a run');
    // The run has ended awaiting the user, but storage does not have it yet.
    await vi.waitFor(() => expect(gated.held).toHaveLength(1));
    expect((await gated.inner.loadSession(session.id))!.state).toBe('running');

    const listed = (await runtime.listSessions({ limit: 10 })).sessions.find((view) => view.id === session.id)!;
    expect(listed).toMatchObject({ state: 'running', run_id: started.run_id, pending_question: null });
    expect(delivered.some((event) => event.type === 'question_asked')).toBe(false);
    expect(await runtime.getSession(session.id)).toMatchObject({ state: 'running', run_id: started.run_id, pending_question: null });

    gated.release();
    const view = await waitForState(runtime, session.id, 'awaitingUser');
    expect(view).toMatchObject({ state: 'awaitingUser', pending_question: { text: 'Ready?', options: ['yes', 'no'] } });
    const row = (await gated.inner.loadSession(session.id))!;
    expect(row).toMatchObject({ state: 'awaitingUser', version: view.version, last_event_seq: view.last_event_seq });
    expect(delivered.map((event) => event.type)).toContain('question_asked');
    expect(delivered.map((event) => event.seq)).toEqual(delivered.map((_, i) => delivered[0]!.seq + i));
  });
});
