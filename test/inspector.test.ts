/**
 * The Stately inspector sees a real human-in-the-loop turn: a WebSocket client
 * on 127.0.0.1 (standing in for the inspector UI) receives the session actor's
 * registration, the events sent to it and its snapshots. The relay serves only
 * clients with the token and an allowed Origin, never passes a viewer's
 * message on, and keeps its memory bounded whatever viewers send.
 */
import { createServer as createTcpServer } from 'node:net';
import type { StatelyInspectionEvent } from '@statelyai/inspect';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { createDemoAgent } from '../src/agents/demo.js';
import type { SessionState } from '../src/domain/types.js';
import { isLoopback, ReplayBuffer, startInspector, type RunningInspector } from '../src/runtime/inspector.js';
import { createRuntime, type SessionRuntime } from '../src/runtime/runtime.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function connect(url: string, origin?: string): Promise<{ received: StatelyInspectionEvent[]; socket: WebSocket }> {
  const socket = new WebSocket(url, origin === undefined ? {} : { origin });
  const received: StatelyInspectionEvent[] = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data)) as StatelyInspectionEvent));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  cleanups.push(() => socket.close());
  return { received, socket };
}

/** The HTTP status the relay refuses a WebSocket with, or 101 when it accepts it. */
function handshake(url: string, origin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, origin === undefined ? {} : { origin });
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

function withToken(url: string, token: string | null): string {
  const parsed = new URL(url);
  if (token === null) parsed.searchParams.delete('token');
  else parsed.searchParams.set('token', token);
  return parsed.toString();
}

async function started(options: Partial<Parameters<typeof startInspector>[0]> = {}): Promise<RunningInspector> {
  const inspector = await startInspector({ port: 0, ...options });
  cleanups.push(() => inspector.stop());
  return inspector;
}

/** A minimal `@xstate/store` stand-in whose context can be swapped, to send inspection messages of a chosen size. */
function fakeStore(initial: unknown) {
  let context = initial;
  const observers = new Set<(event: { type: string; event: { type: string } }) => void>();
  return {
    getSnapshot: () => ({ context }),
    inspect(observer: (event: { type: string; event: { type: string } }) => void) {
      observers.add(observer);
      return { unsubscribe: () => observers.delete(observer) };
    },
    set(next: unknown, type = 'set') {
      context = next;
      for (const observer of observers) observer({ type: '@xstate.transition', event: { type } });
    },
  };
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
    const inspector = await started();
    expect(inspector.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{32}$/);
    expect(inspector.pageUrl).toBe(inspector.url.replace(/^ws:/, 'http:'));
    expect(inspector.instructions).toContain(inspector.pageUrl);

    const { received } = await connect(inspector.url);
    // The runtime shows its state counts to the inspector itself, as the store `session-index`.
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


  it('replays recent events to a viewer that connects late, and serves the bridge page with the token', async () => {
    const inspector = await started();
    const runtime = await runtimeWith(inspector);
    const session = await runtime.createSession();
    await runtime.appendMessage(session.id, 'hello');
    await waitForState(runtime, session.id, 'completed');
    // Let the inspector's deferred sends reach the relay.
    await new Promise((resolve) => setTimeout(resolve, 50));

    const { received } = await connect(inspector.url);
    await vi.waitFor(() => expect(received.some((event) => event.type === '@xstate.actor' && event.name === session.id)).toBe(true));

    const page = await fetch(inspector.pageUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await page.text();
    // The page hands its own token on to its WebSocket, and talks to the inspector UI's origin only.
    expect(html).toContain("new URLSearchParams(location.search).get('token')");
    expect(html).toContain("new WebSocket('ws://' + location.host + '/?token=' + encodeURIComponent(token))");
    expect(html).toContain('const uiOrigin = "https://stately.ai"');
    expect(html).not.toContain(inspector.token);

    expect((await fetch(withToken(inspector.pageUrl, null))).status).toBe(401);
    expect((await fetch(withToken(inspector.pageUrl, 'x' + inspector.token.slice(1)))).status).toBe(401);
    expect((await fetch(withToken(inspector.pageUrl.replace(/\/\?/, '/other?'), inspector.token))).status).toBe(404);
  });

  it('refuses a WebSocket without the right token (401)', async () => {
    const inspector = await started();
    expect(await handshake(withToken(inspector.url, null))).toBe(401);
    expect(await handshake(withToken(inspector.url, ''))).toBe(401);
    expect(await handshake(withToken(inspector.url, inspector.token.slice(0, -1)))).toBe(401);
    expect(await handshake(withToken(inspector.url, `${inspector.token}x`))).toBe(401);
    expect(await handshake(inspector.url)).toBe(101);
  });

  it("accepts no Origin, the Stately inspector's and the bridge page's own; refuses any other (403)", async () => {
    const inspector = await started();
    const port = new URL(inspector.url).port;
    expect(await handshake(inspector.url, 'https://evil.example')).toBe(403);
    expect(await handshake(inspector.url, 'http://stately.ai')).toBe(403);
    expect(await handshake(inspector.url, 'null')).toBe(403);
    // Another local page (another port), or a DNS-rebound name pointing here, is another origin.
    expect(await handshake(inspector.url, `http://127.0.0.1:${Number(port) + 1}`)).toBe(403);
    expect(await handshake(inspector.url, `http://rebound.example:${port}`)).toBe(403);
    // A refused client cannot see the events even with the token: nothing was upgraded.
    expect(await handshake(inspector.url)).toBe(101);
    expect(await handshake(inspector.url, 'https://stately.ai')).toBe(101);
    expect(await handshake(inspector.url, `http://127.0.0.1:${port}`)).toBe(101);
    expect(await handshake(inspector.url, `http://localhost:${port}`)).toBe(101);
  });

  it('closes a viewer that sends a 5 MiB frame, and keeps relaying to the others', async () => {
    const inspector = await started();
    const good = await connect(inspector.url);
    const bad = await connect(inspector.url);
    const closed = new Promise<number>((resolve) => bad.socket.once('close', (code) => resolve(code)));
    bad.socket.on('error', () => {});
    bad.socket.send(Buffer.alloc(5 * 1024 * 1024, 'a'));
    expect(await closed).toBe(1009);

    const runtime = await runtimeWith(inspector);
    const session = await runtime.createSession();
    await runtime.appendMessage(session.id, 'still here');
    await waitForState(runtime, session.id, 'completed');
    await vi.waitFor(() => {
      const snapshots = good.received.filter((event) => event.type === '@xstate.snapshot').map((event) => (event as unknown as { snapshot: { value: unknown } }).snapshot.value);
      expect(snapshots).toContain('completed');
    });
    expect(good.socket.readyState).toBe(WebSocket.OPEN);
    expect(inspector.replayBytes).toBeLessThanOrEqual(8 * 1024 * 1024);
  });

  it("never forwards a viewer's message to another viewer, nor replays it", async () => {
    const inspector = await started();
    const sender = await connect(inspector.url);
    const listener = await connect(inspector.url);
    const forged = JSON.stringify({ type: '@xstate.actor', name: 'forged', sessionId: 'forged', createdAt: '0', _version: '1', id: null, snapshot: {} });
    for (let i = 0; i < 20; i++) sender.socket.send(forged);
    sender.socket.send(Buffer.alloc(900 * 1024, 'b'));

    // A real transition after the forged ones: once the listener sees it, the forged ones would have arrived first.
    const store = fakeStore({ n: 0 });
    inspector.watchStore('probe', store);
    store.set({ n: 1 });
    await vi.waitFor(() => expect(listener.received.some((event) => event.type === '@xstate.snapshot' && event.sessionId === 'probe')).toBe(true));
    const late = await connect(inspector.url);
    await vi.waitFor(() => expect(late.received.some((event) => event.sessionId === 'probe')).toBe(true));

    for (const received of [listener.received, late.received, sender.received]) {
      expect(received.some((event) => event.sessionId === 'forged')).toBe(false);
    }
    expect(inspector.replayBytes).toBeLessThan(10_000);
  });

  it('bounds the replay by bytes, dropping the oldest messages', async () => {
    const inspector = await started({ replayBytes: 3 * 1024 * 1024 });
    const store = fakeStore({ blob: '' });
    inspector.watchStore('big', store);
    for (let i = 0; i < 10; i++) store.set({ blob: `${i}`.padEnd(700 * 1024, '.') }, `step.${i}`);
    expect(inspector.replayBytes).toBeGreaterThan(2 * 1024 * 1024);
    expect(inspector.replayBytes).toBeLessThanOrEqual(3 * 1024 * 1024);

    const late = await connect(inspector.url);
    const steps = await vi.waitFor(() => {
      const seen = late.received.filter((event) => event.type === '@xstate.event').map((event) => (event as { event: { type: string } }).event.type);
      expect(seen).toContain('step.9');
      return seen;
    });
    expect(steps).not.toContain('step.0');
    expect(steps).toEqual([...steps].sort());
  });

  it('ReplayBuffer keeps the newest messages within its byte budget', () => {
    const buffer = new ReplayBuffer(10);
    for (const message of ['aaaa', 'bbbb', 'cccc', 'dd', 'this one is too large to keep', 'e']) buffer.push(message);
    expect(buffer.messages()).toEqual(['cccc', 'dd', 'e']);
    expect(buffer.bytes).toBe(7);
    for (let i = 0; i < 5000; i++) buffer.push(String(i % 10));
    expect(buffer.messages()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(buffer.bytes).toBe(10);
  });

  it('accepts loopback addresses only', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopback(address)).toBe(true);
    for (const address of [undefined, '', '10.0.0.1', '192.168.1.2', '::ffff:10.0.0.1', 'fe80::1', '128.0.0.1', '1127.0.0.1']) expect(isLoopback(address)).toBe(false);
  });

  it('rejects with EADDRINUSE when its port is taken', async () => {
    const blocker = createTcpServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const port = (blocker.address() as { port: number }).port;
    await expect(startInspector({ port })).rejects.toMatchObject({ code: 'EADDRINUSE', port, message: expect.stringContaining(`port ${port}`) });
  });

  it('stops cleanly: the port is released', async () => {
    const inspector = await startInspector({ port: 0 });
    await connect(inspector.url);
    await inspector.stop();
    await expect(connect(inspector.url)).rejects.toThrow();
  });
});
