/**
 * Scenario 8's crowd: SSE clients of a server, most of them reading, some
 * never reading. Readers are lean token streams (token-stream.ts); each
 * keeps the latency of the tokens it gets and notices when the server ends
 * its stream. A non-reader is a raw socket that sends its GET, reads the
 * response's first bytes (to check the status) and then stops reading for
 * good: the kernel's buffers fill, then the server's. At the end, `drain`
 * reads the non-readers again and counts those the server had cut: their
 * connection ends once the bytes the kernel still held are read.
 */
import net from 'node:net';
import { tokenStamp } from '../lib/bench-agent.js';
import { serve } from '../lib/serve.js';
import { type LatencySummary, Samples } from '../lib/stats.js';
import { openTokenStream, type TokenStream } from '../lib/token-stream.js';

export interface CrowdInput {
  /** `…/api/v1/sessions/{id}/events` is appended to it. */
  url: string;
  /** Sessions whose runs stream large tokens: the non-readers' sessions, each with one reader too. */
  firehose: string[];
  /** Sessions whose runs stream small tokens: the other readers'. */
  steady: string[];
  /** Readers in all (one per firehose session, the rest spread over the steady sessions). */
  readers: number;
  nonReaders: number;
}

export interface CrowdStatus {
  readers: number;
  /** Readers whose stream the server ended. */
  readersCut: number;
  /** Tokens the readers of steady sessions received, and their latency (made → parsed). */
  steadyTokens: number;
  steadyLatency: LatencySummary;
  /** Likewise for the one reader of each firehose session. */
  firehoseTokens: number;
  firehoseLatency: LatencySummary;
}

interface NonReader {
  socket: net.Socket;
  ended: Promise<void>;
}

let readers: TokenStream[] = [];
let nonReaders: NonReader[] = [];
let readersCut = 0;
let steady = { tokens: 0, latency: new Samples() };
let firehose = { tokens: 0, latency: new Samples() };

function events(url: string, session: string): URL {
  return new URL(`${url}/api/v1/sessions/${session}/events`);
}

function openReader(target: URL, tally: typeof steady): TokenStream {
  return openTokenStream(target.toString(), {
    token(text, receivedAt) {
      tally.tokens++;
      tally.latency.push(performance.timeOrigin + receivedAt - tokenStamp(text));
    },
    completed: () => undefined,
    closed: () => readersCut++,
  });
}

/** Connects, checks the status line, then never reads again. */
function openNonReader(target: URL): { opened: Promise<void>; reader: NonReader } {
  const socket = net.connect(Number(target.port), target.hostname);
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      const status = chunk.toString('latin1', 0, Math.max(0, chunk.indexOf('\r\n')));
      if (/^HTTP\/1\.1 200/.test(status)) resolve();
      else reject(new Error(`GET ${target} answered ${status}`));
    });
    socket.once('close', () => reject(new Error(`GET ${target}: closed before answering`)));
  });
  socket.write(`GET ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nAccept: text/event-stream\r\n\r\n`);
  return { opened, reader: { socket, ended } };
}

/** Opens in batches: the server's accept backlog is finite. */
async function inBatches(count: number, open: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < count; i += 100) await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, j) => open(i + j)));
}

const api = {
  async connect(input: CrowdInput): Promise<void> {
    readersCut = 0;
    steady = { tokens: 0, latency: new Samples() };
    firehose = { tokens: 0, latency: new Samples() };
    await inBatches(input.nonReaders, async (i) => {
      const { opened, reader } = openNonReader(events(input.url, input.firehose[i % input.firehose.length]));
      nonReaders.push(reader);
      await opened;
    });
    await inBatches(input.readers, async (i) => {
      const onFirehose = i < input.firehose.length;
      const session = onFirehose ? input.firehose[i] : input.steady[(i - input.firehose.length) % input.steady.length];
      const stream = openReader(events(input.url, session), onFirehose ? firehose : steady);
      readers.push(stream);
      await stream.opened;
    });
  },

  async status(): Promise<CrowdStatus> {
    return {
      readers: readers.length,
      readersCut,
      steadyTokens: steady.tokens,
      steadyLatency: steady.latency.summary(),
      firehoseTokens: firehose.tokens,
      firehoseLatency: firehose.latency.summary(),
    };
  },

  /** Reads the non-readers again; the count of those whose connection ends within `waitMs` (the server had cut them). */
  async drain({ waitMs }: { waitMs: number }): Promise<number> {
    let cut = 0;
    await Promise.all(
      nonReaders.map(async ({ socket, ended }) => {
        socket.on('data', () => undefined);
        socket.resume();
        const timeout = new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), waitMs).unref());
        if ((await Promise.race([ended.then(() => 'ended' as const), timeout])) === 'ended') cut++;
      }),
    );
    return cut;
  },

  async close(): Promise<void> {
    for (const stream of readers) stream.close();
    for (const { socket } of nonReaders) socket.destroy();
    readers = [];
    nonReaders = [];
  },
};
export type CrowdApi = typeof api;

serve(api, async () => api.close());
