/**
 * The Server-Sent Events stream of one session. It subscribes before reading
 * the log, holds live events while the replay runs, then drops any it already
 * replayed: every event exactly once, in `seq` order. The replay is read from
 * the log, so it waits for the client to drain; live events cannot wait, and a
 * client that falls too far behind them is disconnected rather than allowed to
 * hold memory; it reconnects with `Last-Event-ID` and misses nothing.
 */
import type { Request, Response } from 'express';
import { Delivery } from '../runtime/event-bus.js';
import type { TenantSessions } from '../runtime/runtime.js';
import type { BufferBudget } from './buffer-budget.js';
import type { Lifecycle } from './lifecycle.js';
import { CHUNK_BYTES } from './pages.js';
import { StreamResponse } from './stream-response.js';

export interface SseOptions {
  pingIntervalMs: number;
  /** Bytes queued for one slow client before it is dropped. */
  maxBufferedBytes: number;
}

export interface StreamContext {
  sessions: TenantSessions;
  lifecycle: Lifecycle;
  /** The bytes buffered by all slow streams together. */
  buffers: BufferBudget;
  options: SseOptions;
}

const REPLAY_PAGE = 1000;

export async function streamEvents({ sessions, lifecycle, buffers, options }: StreamContext, sessionId: string, after: number | null, req: Request, res: Response): Promise<void> {
  const stream = new StreamResponse(req, res, { ...options, sessionId, tooSlow: 'SSE client too slow; disconnecting' });
  // Live-only streams start below every seq.
  let lastSent = after ?? -1;
  let replaying = after !== null;
  let sessionGone = false;

  // Frames written in one tick (a commit's events arrive together) leave in one system call.
  let corked = false;
  const uncork = () => {
    corked = false;
    res.uncork();
  };
  /** Writes a frame unless already sent; false when the client should be let drain first. */
  const send = (delivery: Delivery): boolean => {
    if (stream.ended) return true;
    const { seq } = delivery.event;
    if (seq <= lastSent) return true;
    lastSent = seq;
    if (!corked) {
      corked = true;
      res.cork();
      process.nextTick(uncork);
    }
    return res.write(delivery.frame);
  };
  const write = (delivery: Delivery) => {
    send(delivery);
    stream.dropIfBehind();
    buffers.report(res);
  };

  const subscription = await sessions.subscribe(sessionId, {
    deliver: (delivery) => (replaying ? stream.hold(delivery) : write(delivery)),
    end: () => {
      sessionGone = true;
      if (!replaying) stream.finish();
    },
  });
  stream.onFinish(subscription.unsubscribe);
  stream.onFinish(lifecycle.streaming(res, stream.finish));
  // The session's live frames are shared by all its streams.
  stream.onFinish(buffers.track(res, () => stream.drop(), sessionId));
  req.on('close', stream.finish);
  if (req.destroyed) return stream.finish();

  stream.open();
  if (after === null) return;
  try {
    for (;;) {
      const page = await sessions.readEvents(sessionId, lastSent, REPLAY_PAGE, CHUNK_BYTES);
      for (const event of page.events) {
        if (stream.ended) break;
        if (!send(new Delivery(event))) await stream.drained();
      }
      if (page.events.length === 0 || stream.ended) break;
    }
  } catch (error) {
    if (stream.cutAfterFailedReplay(error, sessionGone)) return;
  }
  replaying = false;
  for (const delivery of stream.releaseHeld()) write(delivery);
  if (sessionGone) stream.finish();
}
