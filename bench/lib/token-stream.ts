/**
 * The cheapest possible SSE subscriber, for fan-out at a thousand streams:
 * a raw TCP socket, a hand-written GET, and a scan of the bytes for `event:`
 * lines, skipping the HTTP parser, string decoding and JSON. It relies on the
 * server writing each SSE frame in one chunk (true of Bamboo and the floor),
 * so chunked-encoding lines never split a frame.
 */
import net from 'node:net';

export interface TokenStreamHandlers {
  /** A `token` frame arrived; `text` holds the token's text (its first 32 bytes). */
  token(text: string, receivedAt: number): void;
  /** A `run_completed` frame arrived. */
  completed(): void;
  /** A `run_interrupted` frame arrived (the run will not complete). */
  interrupted?(): void;
  /** The connection ended, unless `close` ended it. */
  closed?(): void;
}

/** How a collector reports a run recorded interrupted instead of completed (the message of its error). */
export const RUN_INTERRUPTED = 'the run was interrupted';

export interface TokenStream {
  opened: Promise<void>;
  close(): void;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const FRAME_END = Buffer.from('\n\n');
const EVENT = Buffer.from('\nevent: ');
const TOKEN = Buffer.from('token\n');
const COMPLETED = Buffer.from('run_completed\n');
const INTERRUPTED = Buffer.from('run_interrupted\n');
const TEXT = Buffer.from('"text":"');

export function openTokenStream(url: string, handlers: TokenStreamHandlers): TokenStream {
  const target = new URL(url);
  const socket = net.connect(Number(target.port), target.hostname);
  socket.setNoDelay(true);
  socket.write(`GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nAccept: text/event-stream\r\n\r\n`);
  let pending: Buffer | null = null;
  let headersRead = false;
  const opened = new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      const receivedAt = performance.now();
      let data = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = null;
      if (!headersRead) {
        const end = data.indexOf(HEADER_END);
        if (end === -1) {
          pending = data;
          return;
        }
        const status = data.toString('latin1', 0, data.indexOf('\r\n'));
        if (!/^HTTP\/1\.1 200/.test(status)) {
          reject(new Error(`GET ${url} answered ${status}`));
          socket.destroy();
          return;
        }
        headersRead = true;
        resolve();
        data = data.subarray(end + HEADER_END.length);
      }
      const last = data.lastIndexOf(FRAME_END);
      if (last === -1) {
        pending = data;
        return;
      }
      if (last + FRAME_END.length < data.length) pending = data.subarray(last + FRAME_END.length);
      // The first frame's `event:` may sit at the very start of `data`, after a chunk-size line ending in '\n'.
      for (let at = data.indexOf(EVENT, 0); at !== -1 && at < last; at = data.indexOf(EVENT, at + EVENT.length)) {
        const name = at + EVENT.length;
        if (data.compare(TOKEN, 0, TOKEN.length, name, name + TOKEN.length) === 0) {
          const text = data.indexOf(TEXT, name);
          if (text !== -1) handlers.token(data.toString('latin1', text + TEXT.length, text + TEXT.length + 32), receivedAt);
        } else if (data.compare(COMPLETED, 0, COMPLETED.length, name, name + COMPLETED.length) === 0) {
          handlers.completed();
        } else if (data.compare(INTERRUPTED, 0, INTERRUPTED.length, name, name + INTERRUPTED.length) === 0) {
          handlers.interrupted?.();
        }
      }
    });
  });
  opened.catch(() => undefined);
  let closing = false;
  socket.on('close', () => {
    if (!closing) handlers.closed?.();
  });
  // After `opened`, a failure is a close like any other.
  socket.on('error', () => undefined);
  return {
    opened,
    close: () => {
      closing = true;
      socket.destroy();
    },
  };
}
