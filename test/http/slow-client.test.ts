/** A client that stops reading its stream must not hold up runs or other clients; it is cut off and can catch up later. */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../src/domain/events.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { API, cleanup, createSession, getSession, startServer, tempDb, waitForState } from './helpers.js';
import { EventLog } from './sse-client.js';

const logs: EventLog[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const log of logs.splice(0)) log.close();
  for (const socket of sockets.splice(0)) socket.destroy();
  await cleanup();
});

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');

/** Opens the stream over a bare socket, reads the response head (and whatever came with it), then stops reading. */
async function stalledStream(port: number, path: string): Promise<{ socket: Socket; head: string; body: string }> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
  let head = '';
  await new Promise<void>((resolve) => {
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        socket.off('data', onData);
        socket.pause();
        resolve();
      }
    };
    socket.on('data', onData);
  });
  const end = head.indexOf('\r\n\r\n') + 4;
  return { socket, head: head.slice(0, end), body: Buffer.from(head.slice(end), 'latin1').toString('utf8') };
}

/** Reads a fetch body until the server ends it (or breaks it off); rejects if it stays open. */
async function readToEnd(response: Response, timeoutMs: number): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void reader.cancel();
  }, timeoutMs);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // The server destroyed the connection: the body breaks off rather than ending.
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) throw new Error(`the stream is still open after ${timeoutMs} ms`);
  return text;
}

/** Reads what is left until the server closes the socket; rejects if it stays open. */
function drainUntilClosed(socket: Socket, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`the socket is still open after ${timeoutMs} ms (${text.length} chars read)`)), timeoutMs);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.resume();
  });
}

describe('a slow SSE client', () => {
  it('is disconnected once too far behind, while runs and other clients go on; it catches up with Last-Event-ID', async () => {
    const server = await startServer({ sseMaxBufferedBytes: 128 * 1024 });
    const busy = await createSession(server, { title: 'busy' });
    const other = await createSession(server, { title: 'other' });

    const { socket, head, body } = await stalledStream(server.server.port, `${API}/sessions/${busy.id}/events?after=0`);
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(head).toMatch(/content-type: text\/event-stream/i);
    const fastOtherSession = new EventLog(`${server.url}${API}/sessions/${other.id}/events?after=0`);
    logs.push(fastOtherSession);
    await fastOtherSession.waitForOpen();
    expect(server.server.runtime.stats().subscribers).toBe(2);

    // About 8,000 token events, megabytes of frames: far beyond 128 KiB plus what the kernel buffers.
    const t0 = Date.now();
    const flood = await server.call('POST', `${API}/sessions/${busy.id}/messages`, { json: { content: words(8000) } });
    expect(flood.status).toBe(202);
    const quick = await server.call('POST', `${API}/sessions/${other.id}/messages`, { json: { content: 'quick one' } });
    expect(quick.status).toBe(202);

    await fastOtherSession.waitFor((received) => received.some((event) => event.type === 'run_completed'), 5_000);
    const otherDone = await waitForState(server, other.id, 'completed', 5_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(fastOtherSession.seqs).toEqual(range(1, otherDone.last_event_seq));

    const busyDone = await waitForState(server, busy.id, 'completed', 15_000);
    const last: number = busyDone.last_event_seq;
    expect(last).toBeGreaterThan(8000);

    // The stalled client was dropped: reading now yields what was already sent, then the end.
    const rest = body + (await drainUntilClosed(socket, 5_000));
    const frames = [...rest.matchAll(/id: (\d+)\nevent: \w+\ndata: .*\n\n/g)].map((match) => Number(match[1]));
    expect(frames.length).toBeGreaterThan(0);
    expect(frames).toEqual(range(1, frames.length));
    expect(frames.length).toBeLessThan(last);
    expect(server.server.runtime.stats().subscribers).toBe(1);

    // It reconnects from the last complete frame it has and gets exactly the rest.
    const caughtUp = new EventLog(`${server.url}${API}/sessions/${busy.id}/events`, { lastEventId: String(frames.length) });
    logs.push(caughtUp);
    await caughtUp.waitFor((received) => received.at(-1)?.data.seq === last, 10_000);
    expect(caughtUp.seqs).toEqual(range(frames.length + 1, last));
    expect(caughtUp.opens).toBe(1);
    expect((await getSession(server, busy.id)).state).toBe('completed');
  });

  it('live events held behind an unfinished replay are bounded too: past the bound the client is dropped', async () => {
    // A store whose next event read waits for the test, so a replay can be held open at will.
    let armed = false;
    let entered!: () => void;
    const readStarted = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    class GatedStore extends SqliteStore {
      override async readEvents(sessionId: string, after: number, limit: number): Promise<SessionEvent[]> {
        if (armed) {
          armed = false;
          entered();
          await gate;
        }
        return super.readEvents(sessionId, after, limit);
      }
    }
    const server = await startServer({ store: new GatedStore(tempDb()), sseMaxBufferedBytes: 64 * 1024 });
    const session = await createSession(server);
    armed = true;
    const controller = new AbortController();
    const stream = await fetch(`${server.url}${API}/sessions/${session.id}/events?after=0`, { headers: { Accept: 'text/event-stream' }, signal: controller.signal });
    expect(stream.status).toBe(200);
    await readStarted;

    // Megabytes of live events while the replay cannot move.
    const flood = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: words(4000) } });
    expect(flood.status).toBe(202);
    await waitForState(server, session.id, 'completed', 10_000);
    try {
      // Dropped while its replay is still waiting, not after.
      const text = await readToEnd(stream, 5_000);
      expect(text).not.toContain('id: ');
      expect(server.server.runtime.stats().subscribers).toBe(0);
    } finally {
      release();
      controller.abort();
    }
  });

  it('a reader that keeps up replays a log many times the buffer bound without being dropped', async () => {
    const server = await startServer({ sseMaxBufferedBytes: 64 * 1024 });
    const session = await createSession(server);
    // Twenty messages of 30 KB: a log of about 600 KB, every replay page far over 64 KiB.
    for (let i = 0; i < 20; i++) {
      const reply = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: `${i} ${'x'.repeat(30_000)}`, resume: false } });
      expect(reply.status).toBe(201);
    }
    const last: number = (await getSession(server, session.id)).last_event_seq;
    const log = new EventLog(`${server.url}${API}/sessions/${session.id}/events?after=0`);
    logs.push(log);
    await log.waitFor((received) => received.at(-1)?.data.seq === last, 5_000);
    expect(log.seqs).toEqual(range(1, last));
    expect(log.opens).toBe(1);
    expect(log.errors).toBe(0);
    // Still open for live events.
    await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'and one more', resume: false } });
    await log.waitFor((received) => received.at(-1)?.data.seq === last + 1);
  });
});
