/**
 * The Stately inspector sees a real human-in-the-loop turn: a WebSocket client
 * on 127.0.0.1 (standing in for the inspector UI) receives the session actor's
 * registration, the events sent to it and its snapshots.
 */
import type { StatelyInspectionEvent } from '@statelyai/inspect';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { createDemoAgent } from '../src/agents/demo.js';
import type { SessionState } from '../src/domain/types.js';
import { startInspector, type RunningInspector } from '../src/runtime/inspector.js';
import { createRuntime, type SessionRuntime } from '../src/runtime/runtime.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function connect(url: string): Promise<{ received: StatelyInspectionEvent[] }> {
  const socket = new WebSocket(url);
  const received: StatelyInspectionEvent[] = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data)) as StatelyInspectionEvent));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  cleanups.push(() => socket.close());
  return { received };
}

async function runtimeWith(inspector: RunningInspector): Promise<SessionRuntime> {
  const runtime = createRuntime({
    store: new SqliteStore(':memory:'),
    agents: new Map([['demo', createDemoAgent({ tokenDelayMs: 0 })]]),
    defaultAgent: 'demo',
    inspector,
  });
  await runtime.start();
  cleanups.push(() => runtime.shutdown());
  return runtime;
}

async function waitForState(runtime: SessionRuntime, id: string, state: SessionState) {
  return vi.waitFor(async () => {
    const view = await runtime.getSession(id);
    if (view.state !== state) throw new Error(`still ${view.state}`);
    return view;
  });
}

describe('Stately inspector', () => {
  it('relays the inspection events of a HITL turn to a WebSocket client on 127.0.0.1', async () => {
    const inspector = await startInspector({ port: 0 });
    cleanups.push(() => inspector.stop());
    expect(inspector.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(inspector.instructions).toContain(inspector.pageUrl);

    const { received } = await connect(inspector.url);
    const runtime = await runtimeWith(inspector);

    const session = await runtime.createSession({ title: 'inspected' });
    await runtime.appendMessage(session.id, '/ask Pick one | red | blue');
    const asked = await waitForState(runtime, session.id, 'awaitingUser');
    await runtime.respond(session.id, asked.pending_question!.id, 'red');
    await waitForState(runtime, session.id, 'completed');

    // The session actor is registered under the session's id, with the machine's definition.
    const registration = await vi.waitFor(() => {
      const found = received.find((event) => event.type === '@xstate.actor' && event.name === session.id);
      if (!found || found.type !== '@xstate.actor') throw new Error('no registration yet');
      return found;
    });
    expect(JSON.parse(registration.definition!)).toMatchObject({ id: 'session', states: { awaitingUser: {} } });
    const actorId = registration.sessionId;

    // Its events, in order, include the commands of the turn and the run's results.
    await vi.waitFor(() => {
      const events = received.filter((event) => event.type === '@xstate.event' && event.sessionId === actorId).map((event) => (event as { event: { type: string } }).event.type);
      const expected = ['message.append', 'resume', 'xstate.done.actor.run', 'question.answer', 'resume', 'xstate.done.actor.run'];
      expect(events.filter((type) => expected.includes(type))).toEqual(expected);
    });
    const answer = received.find((event) => event.type === '@xstate.event' && event.sessionId === actorId && event.event.type === 'question.answer');
    expect(answer).toMatchObject({ event: { questionId: asked.pending_question!.id, answer: 'red' } });

    // Snapshots walk the statechart: running, awaitingUser, idle, running, completed.
    await vi.waitFor(() => {
      const values = received
        .filter((event) => event.type === '@xstate.snapshot' && event.sessionId === actorId)
        .map((event) => (event as { snapshot: { value: unknown } }).snapshot.value);
      expect(values).toEqual(expect.arrayContaining(['running', 'awaitingUser', 'idle', 'completed']));
      expect(values.at(-1)).toBe('completed');
    });
    const last = received.filter((event) => event.type === '@xstate.snapshot' && event.sessionId === actorId).at(-1);
    expect(last).toMatchObject({ snapshot: { context: { sessionId: session.id, pendingQuestion: null } } });

    // Each run is a child actor of the session.
    const runs = received.filter((event) => event.type === '@xstate.actor' && event.parentId === actorId);
    expect(runs.length).toBeGreaterThanOrEqual(2);

    // The state-count store is shown as an actor too, its snapshots following the session.
    expect(received.some((event) => event.type === '@xstate.actor' && event.sessionId === 'session-index')).toBe(true);
    await vi.waitFor(() => {
      const counts = received
        .filter((event) => event.type === '@xstate.snapshot' && event.sessionId === 'session-index')
        .map((event) => (event as { snapshot: { context: { counts: Record<SessionState, number> } } }).snapshot.context.counts);
      expect(counts.at(-1)).toEqual({ idle: 0, running: 0, awaitingUser: 0, completed: 1 });
      expect(counts.some((count) => count.awaitingUser === 1)).toBe(true);
    });
  });

  it('replays recent events to a client that connects late, and serves the bridge page', async () => {
    const inspector = await startInspector({ port: 0 });
    cleanups.push(() => inspector.stop());
    const runtime = await runtimeWith(inspector);
    const session = await runtime.createSession();
    await runtime.appendMessage(session.id, 'hello');
    await waitForState(runtime, session.id, 'completed');
    // Let the inspector's deferred sends reach the relay.
    await new Promise((resolve) => setTimeout(resolve, 50));

    const { received } = await connect(inspector.url);
    await vi.waitFor(() => expect(received.some((event) => event.type === '@xstate.actor' && event.name === session.id)).toBe(true));

    const page = await fetch(inspector.pageUrl);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain("new WebSocket('ws://' + location.host)");
  });

  it('stops cleanly: the port is released', async () => {
    const inspector = await startInspector({ port: 0 });
    await connect(inspector.url);
    await inspector.stop();
    await expect(connect(inspector.url)).rejects.toThrow();
  });
});
