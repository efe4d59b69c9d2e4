/**
 * Scenario 5's subscribers: `n` real SSE connections from this process to one
 * stream URL. Each token's text carries the wall-clock time the agent made it;
 * receipt minus that is the token's latency (append → client).
 */
import { tokenStamp } from '../lib/bench-agent.js';
import { serve } from '../lib/serve.js';
import { openTokenStream, RUN_INTERRUPTED, type TokenStream } from '../lib/token-stream.js';
import { type LatencySummary, Samples } from '../lib/stats.js';

export interface ConnectInput {
  url: string;
  subscribers: number;
}

export interface CollectInput {
  /** Tokens each subscriber must see before its `run_completed`. */
  tokens: number;
  timeoutMs: number;
}

export interface CollectResult {
  delivered: number;
  /** From the first token's creation to the last token's receipt, over all subscribers. */
  spanMs: number;
  latency: LatencySummary;
}

let streams: TokenStream[] = [];
let latencies = new Samples();
let firstStamp = Number.POSITIVE_INFINITY;
let lastReceipt = 0;
let delivered = 0;
let completedStreams = 0;
let interrupted = false;
let onCompleted: () => void = () => undefined;

const handlers = {
  token(text: string, receivedAt: number): void {
    const receipt = performance.timeOrigin + receivedAt;
    const stamp = tokenStamp(text);
    latencies.push(receipt - stamp);
    if (stamp < firstStamp) firstStamp = stamp;
    if (receipt > lastReceipt) lastReceipt = receipt;
    delivered++;
  },
  completed(): void {
    completedStreams++;
    if (completedStreams === streams.length) onCompleted();
  },
  interrupted(): void {
    interrupted = true;
    onCompleted();
  },
};

const api = {
  async connect({ url, subscribers }: ConnectInput): Promise<void> {
    latencies = new Samples();
    firstStamp = Number.POSITIVE_INFINITY;
    lastReceipt = 0;
    delivered = 0;
    completedStreams = 0;
    interrupted = false;
    // A hundred at a time: the server's accept backlog is finite.
    for (let i = 0; i < subscribers; i += 100) {
      const batch = Array.from({ length: Math.min(100, subscribers - i) }, () => openTokenStream(url, handlers));
      streams.push(...batch);
      await Promise.all(batch.map((stream) => stream.opened));
    }
  },

  async collect({ tokens, timeoutMs }: CollectInput): Promise<CollectResult> {
    if (completedStreams < streams.length && !interrupted) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${completedStreams}/${streams.length} streams saw run_completed within ${timeoutMs} ms`)), timeoutMs);
        onCompleted = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    if (interrupted) throw new Error(RUN_INTERRUPTED);
    if (delivered !== tokens * streams.length) throw new Error(`delivered ${delivered} tokens, expected ${tokens * streams.length}`);
    return { delivered, spanMs: lastReceipt - firstStamp, latency: latencies.summary() };
  },

  async close(): Promise<void> {
    for (const stream of streams) stream.close();
    streams = [];
  },
};
export type SseSubscribersApi = typeof api;

serve(api, async () => api.close());
