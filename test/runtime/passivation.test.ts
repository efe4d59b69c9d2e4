/**
 * Passivation: idle actors leave memory (their state is already stored) and
 * come back on demand exactly as they were; memory follows the cap, not the
 * number of stored sessions. And the event log stays exact while many
 * sessions run at once.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SessionView } from '../../src/domain/types.js';
import type { SessionRuntime } from '../../src/runtime/runtime.js';
import { viewOfRow } from '../../src/runtime/view.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../../src/storage/store.js';
import { allEvents, allMessages, checkLog, testRuntime, nextTurn, waitForState } from './helpers.js';

/**
 * Counts `loadSession` calls per id: a passivated session can only come back
 * through storage. Past `limit` loads in all it throws, so a registry that keeps
 * reloading sessions fails the test instead of spinning forever.
 */
function countingLoads(inner: Store, limit = 10_000): { store: Store; loads: Map<string, number> } {
  const loads = new Map<string, number>();
  let total = 0;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (property === 'loadSession') {
        return (id: string) => {
          if (++total > limit) throw new Error(`more than ${limit} session loads: the registry is thrashing`);
          loads.set(id, (loads.get(id) ?? 0) + 1);
          return inner.loadSession(id);
        };
      }
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
  return { store, loads };
}

let runtime: SessionRuntime;

afterEach(async () => {
  await runtime?.shutdown();
});

/** The view the stored row alone gives: what a rehydrated actor starts from. */
async function storedView(store: Store, id: string): Promise<SessionView> {
  return viewOfRow((await store.loadSession(id))!);
}

type Setup = (runtime: SessionRuntime, id: string) => Promise<void>;

const STATES: [string, Setup][] = [
  ['idle (fresh)', async () => undefined],
  ['idle with pending work', async (rt, id) => void (await rt.appendMessage(id, 'later', { resume: false }))],
  [
    'idle after a failed run',
    async (rt, id) => {
      await rt.appendMessage(id, '/fail broken tool');
      await waitForState(rt, id, 'idle');
    },
  ],
  [
    'awaitingUser with options',
    async (rt, id) => {
      await rt.appendMessage(id, '/ask Colour? | red | blue');
      await waitForState(rt, id, 'awaitingUser');
    },
  ],
  [
    'awaitingUser with a custom answer',
    async (rt, id) => {
      await rt.appendMessage(id, '/ask Name?');
      await waitForState(rt, id, 'awaitingUser');
    },
  ],
  [
    'completed',
    async (rt, id) => {
      await rt.appendMessage(id, 'hello world');
      await waitForState(rt, id, 'completed');
    },
  ],
  [
    'idle after an answer (answered, then re-asked and answered again)',
    async (rt, id) => {
      await rt.appendMessage(id, '/ask Colour? | red | blue');
      const asked = await waitForState(rt, id, 'awaitingUser');
      await rt.respond(id, asked.pending_question!.id, 'red');
      await waitForState(rt, id, 'completed');
      await rt.appendMessage(id, '/ask Again? | yes | no', { resume: false });
    },
  ],
];

describe('passivate → rehydrate', () => {
  it.each(STATES)('gives back the same session in %s', async (_name, setup) => {
    const { store, loads } = countingLoads(new SqliteStore(':memory:'));
    ({ runtime } = testRuntime({ store, maxLiveActors: 1 }));
    await runtime.start();
    const session = await runtime.createSession({ title: 'passivated', metadata: { k: [1, 2] } });
    await setup(runtime, session.id);
    const before = await runtime.getSession(session.id);
    // What is live is what is stored.
    expect(await storedView(store, session.id)).toEqual(before);

    // Another session takes the one live slot.
    const other = await runtime.createSession();
    await runtime.getSession(other.id);
    await nextTurn();
    expect(runtime.stats().liveActors).toBe(1);
    const loadsBefore = loads.get(session.id) ?? 0;

    const after = await runtime.getSession(session.id);
    expect(loads.get(session.id)).toBe(loadsBefore + 1);
    expect(after).toEqual(before);
    await nextTurn();
    expect(runtime.stats().liveActors).toBe(1);

    // A rehydrated actor carries on where the old one stopped.
    if (after.state === 'awaitingUser') {
      const answer = after.pending_question!.options?.[0] ?? 'Ada';
      const reply = await runtime.respond(session.id, after.pending_question!.id, answer);
      expect(reply.outcome).toBe('Started');
      await waitForState(runtime, session.id, 'completed');
      expect((await allMessages(runtime, session.id)).at(-1)?.content).toBe(`You answered: ${answer}`);
    } else {
      const resumed = await runtime.resume(session.id);
      expect(resumed.outcome).toBe(after.has_pending_work ? 'Started' : 'Completed');
      if (resumed.outcome === 'Started') {
        await vi.waitFor(async () => expect((await runtime.getSession(session.id)).last_run).toMatchObject({ id: resumed.run_id, status: expect.not.stringMatching(/^running$/) }));
      }
    }
    checkLog(await allEvents(runtime, session.id), session.id);
  });

  it('a running session is never passivated, and its stored state matches the live one', async () => {
    const { store, loads } = countingLoads(new SqliteStore(':memory:'));
    ({ runtime } = testRuntime({ store, maxLiveActors: 1 }));
    await runtime.start();
    const session = await runtime.createSession();
    const started = await runtime.appendMessage(session.id, '/sleep 150');
    if (started.outcome !== 'Started') throw new Error('expected a run');
    const before = await runtime.getSession(session.id);
    expect(await storedView(store, session.id)).toEqual(before);

    for (let i = 0; i < 3; i++) await runtime.createSession();
    await nextTurn();
    expect(runtime.stats().liveActors).toBe(1);
    const loadsBefore = loads.get(session.id) ?? 0;
    expect(await runtime.getSession(session.id)).toEqual(before);
    expect(loads.get(session.id) ?? 0).toBe(loadsBefore);

    const done = await waitForState(runtime, session.id, 'completed');
    expect(done.last_run).toMatchObject({ id: started.run_id, status: 'completed' });
    expect((await allMessages(runtime, session.id)).at(-1)?.content).toBe('Slept 150 ms');
  });

  it('keeps live actors within the cap while sessions come and go', async () => {
    const cap = 5;
    ({ runtime } = testRuntime({ maxLiveActors: cap }));
    await runtime.start();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      ids.push((await runtime.createSession()).id);
      await nextTurn();
      expect(runtime.stats().liveActors).toBeLessThanOrEqual(cap);
    }
    for (const id of ids) {
      await runtime.appendMessage(id, `turn of ${id}`);
      await waitForState(runtime, id, 'completed');
      await nextTurn();
      expect(runtime.stats().liveActors).toBeLessThanOrEqual(cap);
    }
    const listed = await runtime.listSessions({ limit: 200 });
    expect(listed.sessions).toHaveLength(40);
    expect(listed.sessions.every((view) => view.state === 'completed' && view.message_count === 2)).toBe(true);
    expect(runtime.stats().counts).toEqual({ idle: 0, running: 0, awaitingUser: 0, completed: 40 });
  });
});

describe.each([
  { tokenDelayMs: 0, cap: 10 },
  { tokenDelayMs: 2, cap: 10 },
])('100 sessions running at once (tokenDelayMs $tokenDelayMs, cap $cap)', ({ tokenDelayMs, cap }) => {
  it('every log is gap-free, every run opens and closes once, and tokens add up to the reply', async () => {
    const { store } = countingLoads(new SqliteStore(':memory:'), 20_000);
    ({ runtime } = testRuntime({ store, tokenDelayMs, maxLiveActors: cap }));
    await runtime.start();
    const sessions = await Promise.all(Array.from({ length: 100 }, (_, i) => runtime.createSession({ title: `s${i}` })));
    await nextTurn();
    expect(runtime.stats().liveActors).toBeLessThanOrEqual(cap);

    const text = (i: number, round: number) => `round ${round} of session ${i}: the  quick brown\tfox jumps`;
    for (const round of [1, 2]) {
      const results = await Promise.all(sessions.map((session, i) => runtime.appendMessage(session.id, text(i, round))));
      expect(results.every((result) => result.outcome === 'Started')).toBe(true);
      await Promise.all(sessions.map((session) => waitForState(runtime, session.id, 'completed', 10_000)));
    }
    expect(runtime.stats().counts).toEqual({ idle: 0, running: 0, awaitingUser: 0, completed: 100 });
    // Running sessions filled the cap while passivated ones were asked for: each came back about once per turn.
    expect(runtime.stats().hydrations).toBeLessThan(400);

    for (const [i, session] of sessions.entries()) {
      const events = await allEvents(runtime, session.id);
      const runs = checkLog(events, session.id);
      expect(runs).toHaveLength(2);
      const messages = await allMessages(runtime, session.id);
      expect(messages.map((message) => [message.role, message.content])).toEqual([
        ['user', text(i, 1)],
        ['assistant', `Echo: ${text(i, 1)}`],
        ['user', text(i, 2)],
        ['assistant', `Echo: ${text(i, 2)}`],
      ]);
      for (const [r, run] of runs.entries()) {
        const tokens = run.events.filter((event) => event.type === 'token').map((event) => event.text);
        expect(tokens.join('')).toBe(messages[2 * r + 1]!.content);
        expect(tokens[0]).toBe('Echo: ');
      }
      const view = await runtime.getSession(session.id);
      expect(view.last_event_seq).toBe(events.length);
      expect(view.message_count).toBe(4);
    }
    // Once the runs are over, memory goes back under the cap by itself.
    await nextTurn();
    expect(runtime.stats().liveActors).toBeLessThanOrEqual(cap);
  });
});
