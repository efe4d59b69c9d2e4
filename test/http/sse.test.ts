/** The event stream through a real EventSource: live tokens, reconnects with Last-Event-ID, restarts, deletion, pings. */
import { createServer as createNetServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { API, type Json, allEvents, allMessages, cleanup, createSession, getSession, startServer, tempDb, waitForState } from './helpers.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { StorageUnavailable } from '../../src/storage/store.js';
import { openStream } from './raw-http.js';
import { EventLog, type Received } from './sse-client.js';

const logs: EventLog[] = [];
function openLog(url: string, options?: { lastEventId?: string }): EventLog {
  const log = new EventLog(url, options);
  logs.push(log);
  return log;
}

afterEach(async () => {
  for (const log of logs.splice(0)) log.close();
  await cleanup();
});

/** The frames are well formed: `id:` is the seq, `event:` the type, and the data names this session. */
function expectFrames(received: Received[], sessionId: string): void {
  for (const event of received) {
    expect(event.id).toBe(String(event.data.seq));
    expect(event.type).toBe(event.data.type);
    expect(event.data.session_id).toBe(sessionId);
  }
}

/**
 * A free port below the kernel's ephemeral range (32768+ on Linux, 49152+ elsewhere): only an explicit
 * listen takes those, so one freed by a stopped server stays free for its restart.
 */
async function portOutsideEphemeralRange(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const probe = createNetServer();
    const free = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      return port;
    }
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
const hasType = (type: string, runId?: string) => (received: Received[]) =>
  received.some((event) => event.type === type && (runId === undefined || event.data.run_id === runId));
const tokensOf = (received: Received[], runId: string) =>
  received.filter((event) => event.type === 'token' && event.data.run_id === runId).map((event) => event.data.text as string);

describe('SSE with EventSource', () => {
  it('streams a reply live as token events that add up to the stored reply; no replay without after', async () => {
    const server = await startServer();
    const session = await createSession(server);
    const log = openLog(`${server.url}${API}/sessions/${session.id}/events`);
    await log.waitForOpen();

    const started = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'hello big world' } });
    expect(started.status).toBe(202);
    const runId: string = started.body.run_id;
    await log.waitFor(hasType('run_completed', runId));

    expectFrames(log.received, session.id);
    // Live only: nothing from before the stream opened (session_created is seq 1).
    expect(log.seqs[0]).toBe(2);
    expect(log.received[0].type).toBe('message_appended');
    expect(log.seqs).toEqual(range(2, log.lastSeq!));
    const tokens = tokensOf(log.received, runId);
    expect(tokens).toEqual(['Echo: ', 'hello ', 'big ', 'world']);
    const reply = (await allMessages(server, session.id)).at(-1);
    expect(reply).toMatchObject({ role: 'assistant', content: 'Echo: hello big world', run_id: runId });
    expect(tokens.join('')).toBe(reply.content);
    const types = log.received.filter((event) => event.data.run_id === runId).map((event) => event.type);
    expect(types[0]).toBe('run_started');
    expect(types.at(-1)).toBe('run_completed');
  });

  it('events_url replays the whole run, whenever the client opens it', async () => {
    const server = await startServer();
    const session = await createSession(server);
    const started = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'late but complete' } });
    await waitForState(server, session.id, 'completed');
    const last = (await getSession(server, session.id)).last_event_seq;
    const log = openLog(`${server.url}${started.body.events_url}`);
    await log.waitFor((received) => received.at(-1)?.data.seq === last);
    expect(log.seqs).toEqual(range(3, last));
    expect(log.received[0]).toMatchObject({ type: 'run_started', data: { run_id: started.body.run_id } });
    expect(tokensOf(log.received, started.body.run_id).join('')).toBe('Echo: late but complete');
  });

  it('replay and live meet without gap or duplicate while a long run streams', async () => {
    const server = await startServer();
    const session = await createSession(server);
    // About 1,500 events: more than one replay page, produced while the stream opens.
    const started = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: words(1500) } });
    const log = openLog(`${server.url}${API}/sessions/${session.id}/events?after=0`);
    await log.waitFor(hasType('run_completed', started.body.run_id), 20_000);
    await waitForState(server, session.id, 'completed');
    const last = (await getSession(server, session.id)).last_event_seq;
    await log.waitFor((received) => received.at(-1)?.data.seq === last);
    expect(log.seqs).toEqual(range(1, last));
    expectFrames(log.received, session.id);
    expect(tokensOf(log.received, started.body.run_id).join('')).toBe(`Echo: ${words(1500)}`);
  });

  it('a client that disconnects mid-run and reconnects with Last-Event-ID misses nothing and sees nothing twice', async () => {
    const server = await startServer({ tokenDelayMs: 15 });
    const session = await createSession(server);
    const url = `${server.url}${API}/sessions/${session.id}/events?after=0`;
    const first = openLog(url);
    const content = words(80);
    const started = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content } });
    const runId: string = started.body.run_id;

    await first.waitFor((received) => tokensOf(received, runId).length >= 5);
    first.close();
    const lastId = first.received.at(-1)!.id;
    // Let the run stream on while nobody listens.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect((await getSession(server, session.id)).state).toBe('running');
    const missedMeanwhile = (await getSession(server, session.id)).last_event_seq - Number(lastId);
    expect(missedMeanwhile).toBeGreaterThan(3);

    // Same URL (?after=0): the header must win, or everything would come again.
    const second = openLog(url, { lastEventId: lastId });
    await second.waitFor(hasType('run_completed', runId));
    expect(second.requests[0]['Last-Event-ID']).toBe(lastId);
    expect(second.seqs[0]).toBe(Number(lastId) + 1);

    const all = [...first.received, ...second.received];
    await waitForState(server, session.id, 'completed');
    const last = (await getSession(server, session.id)).last_event_seq;
    await second.waitFor((received) => received.at(-1)?.data.seq === last);
    expect(all.map((event) => event.data.seq)).toEqual(range(1, last));
    expectFrames(all, session.id);
    expect(tokensOf(all, runId).join('')).toBe(`Echo: ${content}`);
    expect(all.map((event) => event.data)).toEqual(await allEvents(server, session.id));
  });

  it('after a restart on the same database, the reconnecting EventSource gets the missed events; the interrupted run resumes', async () => {
    const dbPath = tempDb();
    // Paced tokens: the run is still streaming when the server stops.
    // The second server must get the same port back: take one that is never handed out to outgoing connections.
    const port = await portOutsideEphemeralRange();
    const first = await startServer({ dbPath, port, tokenDelayMs: 20 });
    const session = await createSession(first);
    const log = openLog(`${first.url}${API}/sessions/${session.id}/events?after=0`);
    await log.waitForOpen();
    const content = words(300);
    const started = await first.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content } });
    const interruptedRun: string = started.body.run_id;
    await log.waitFor((received) => tokensOf(received, interruptedRun).length >= 3);

    await first.close();
    // Shutdown ends the stream only after the run's end: the client saw its run interrupted.
    await log.waitFor(hasType('run_interrupted', interruptedRun));
    const lastBeforeStop = log.lastSeq!;
    // The same port, so the EventSource's own reconnect (same URL, Last-Event-ID) reaches the new server.
    const second = await startServer({ dbPath, port, tokenDelayMs: 0 });
    expect(second.url).toBe(first.url);

    const recovered = await getSession(second, session.id);
    expect(recovered).toMatchObject({
      state: 'idle',
      run_id: null,
      has_pending_work: true,
      last_run: { id: interruptedRun, status: 'interrupted' },
    });
    expect(recovered.last_run.ended_at).not.toBeNull();

    // Resumed before the client is back: its events are missed too, and must come with the replay.
    const resumed = await second.call('POST', `${API}/sessions/${session.id}/resume`);
    expect(resumed.status, resumed.text).toBe(202);
    expect(resumed.body.outcome).toBe('Started');
    const resumedRun: string = resumed.body.run_id;
    expect(resumedRun).not.toBe(interruptedRun);
    await waitForState(second, session.id, 'completed');

    await log.waitFor(hasType('run_completed', resumedRun), 15_000);
    const last = (await getSession(second, session.id)).last_event_seq;
    await log.waitFor((received) => received.at(-1)?.data.seq === last);

    // The reconnect carried the last id seen, and the new connection went on from there.
    expect(log.opens).toBe(2);
    expect(log.requests).toHaveLength(2);
    const resumeFrom = log.requests[1]['Last-Event-ID'];
    expect(resumeFrom).toBe(String(lastBeforeStop));
    const afterReconnect = log.received.filter((event) => event.connection === 2);
    expect(afterReconnect[0].data.seq).toBe(lastBeforeStop + 1);
    expect(afterReconnect.some((event) => event.type === 'run_started' && event.data.run_id === resumedRun)).toBe(true);

    expect(log.seqs).toEqual(range(1, last));
    expectFrames(log.received, session.id);
    const ends = log.received.filter((event) => event.data.run_id === interruptedRun && ['run_completed', 'run_interrupted', 'run_failed', 'run_cancelled'].includes(event.type));
    expect(ends.map((event) => event.type)).toEqual(['run_interrupted']);
    expect(tokensOf(log.received, resumedRun).join('')).toBe(`Echo: ${content}`);
    const messages = await allMessages(second, session.id);
    expect(messages.map((message: Json) => [message.role, message.content])).toEqual([
      ['user', content],
      ['assistant', `Echo: ${content}`],
    ]);
  });

  it('session_deleted is the last event, then the stream closes', async () => {
    const server = await startServer();
    const session = await createSession(server);
    const log = openLog(`${server.url}${API}/sessions/${session.id}/events?after=0`);
    const raw = await fetch(`${server.url}${API}/sessions/${session.id}/events`, { headers: { Accept: 'text/event-stream' } });
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const started = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: '/sleep 5000' } });
    await log.waitFor(hasType('run_started', started.body.run_id));
    const lastSeq = (await getSession(server, session.id)).last_event_seq;

    expect((await server.call('DELETE', `${API}/sessions/${session.id}`)).status).toBe(204);
    await log.waitFor(hasType('session_deleted'));
    const final = log.received.at(-1)!;
    expect(final.type).toBe('session_deleted');
    expect(final.data).toMatchObject({ session_id: session.id });
    expect(final.data.seq).toBeGreaterThan(lastSeq);
    expect(log.seqs).toEqual(range(1, final.data.seq));
    // The server ended the stream: the EventSource reports it.
    await expect.poll(() => log.errors).toBeGreaterThan(0);

    // The raw stream ends after the same final frame.
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of raw.body!) text += decoder.decode(chunk as Uint8Array, { stream: true });
    const frames = text.split('\n\n').filter((frame) => frame.startsWith('id:'));
    expect(frames.at(-1)).toContain('event: session_deleted');
    expect(frames.at(-1)).toContain(`id: ${final.data.seq}`);
  });

  it('sends `: ping` comments on an idle stream', async () => {
    const server = await startServer({ pingIntervalMs: 30 });
    const session = await createSession(server);
    const controller = new AbortController();
    const response = await fetch(`${server.url}${API}/sessions/${session.id}/events`, { headers: { Accept: 'text/event-stream' }, signal: controller.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toContain('no-cache');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while ((text.match(/^: ping\n\n/gm) ?? []).length < 3) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended');
      text += decoder.decode(value, { stream: true });
    }
    // Nothing but pings: the stream started live and nothing happened.
    expect(text.replace(/: ping\n\n/g, '')).toBe('');
    controller.abort();
    await reader.cancel().catch(() => undefined);
  });
});

describe('a replay that fails', () => {
  it('cuts the stream, so the client reconnects from where it was, rather than going live past a gap', async () => {
    const store = new SqliteStore(tempDb());
    let failReads = false;
    const failing = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'readEvents' && failReads) return () => Promise.reject(new StorageUnavailable('unreachable', 'connection refused'));
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const server = await startServer({ store: failing });
    const session = await createSession(server);
    failReads = true;
    const stream = await openStream(server.url, `${API}/sessions/${session.id}/events?after=0`);
    expect(stream.status).toBe(200);
    for (let i = 0; i < 50 && !stream.closed(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stream.closed()).toBe(true);
  });
});
