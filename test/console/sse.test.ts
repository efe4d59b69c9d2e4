/** The console's event stream over fetch: a connection that falls silent is dropped and reopened from the last event. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain browser JavaScript, typed by JSDoc
import { openEventStream } from '../../src/http/console/sse.js';

beforeEach(() => {
  (globalThis as { window?: EventTarget }).window = new EventTarget();
});
afterEach(() => {
  delete (globalThis as { window?: EventTarget }).window;
});

/** A response that sends `text`, then nothing, until its request is aborted (as a dead connection would). */
function silentAfter(text: string, signal: AbortSignal): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      signal.addEventListener('abort', () => controller.error(signal.reason));
    },
  });
  return new Response(body, { headers: { 'Content-Type': 'text/event-stream' } });
}

describe('openEventStream', () => {
  it('drops a connection silent for idleMs and reconnects with Last-Event-ID, closing the old one', async () => {
    const requests: { lastEventId: string | undefined; signal: AbortSignal }[] = [];
    const seen: string[] = [];
    const stream = openEventStream('/events', {
      idleMs: 100,
      fetch: async (_url: string, init: RequestInit) => {
        const headers = init.headers as Record<string, string>;
        requests.push({ lastEventId: headers['Last-Event-ID'], signal: init.signal! });
        return silentAfter(requests.length === 1 ? 'id: 1\ndata: a\n\n' : 'id: 2\ndata: b\n\n', init.signal!);
      },
      onMessage: (message: { data: string }) => seen.push(message.data),
    });
    for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    stream.close();
    expect(seen).toEqual(['a', 'b']);
    expect(requests[1]!.lastEventId).toBe('1');
    expect(requests[0]!.signal.aborted).toBe(true);
  });
});
