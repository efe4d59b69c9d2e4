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
const PING = Buffer.from(': ping\n\n');

export async function streamEvents({ sessions, lifecycle, buffers, options }: StreamContext, sessionId: string, after: number | null, req: Request, res: Response): Promise<void> {
  // Live-only streams start below every seq.
  let lastSent = after ?? -1;
  let replaying = after !== null;
  let sessionGone = false;
  let ended = false;
  const held: Delivery[] = [];
  let heldBytes = 0;
  let unsubscribe = () => {};
  let forget = () => {};
  let untrack = () => {};
  let ping: NodeJS.Timeout | undefined;

  const finish = () => {
    if (ended) return;
    ended = true;
    clearInterval(ping);
    unsubscribe();
    forget();
    untrack();
    res.end();
  };
  const drop = (buffered: number) => {
    req.log.warn({ session_id: sessionId, buffered }, 'SSE client too slow; disconnecting');
    res.destroy();
    finish();
  };
  // Frames written in one tick (a commit's events arrive together) leave in one system call.
  let corked = false;
  const uncork = () => {
    corked = false;
    res.uncork();
  };
  /** Writes a frame unless already sent; false when the client should be let drain first. */
  const send = (delivery: Delivery): boolean => {
    if (ended) return true;
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
    if (!ended && res.writableLength > options.maxBufferedBytes) drop(res.writableLength);
    buffers.report(res);
  };
  /** Live events that arrive while the replay waits for the client count against the same bound. */
  const hold = (delivery: Delivery) => {
    held.push(delivery);
    heldBytes += delivery.frame.length;
    if (!ended && heldBytes > options.maxBufferedBytes) drop(heldBytes);
  };
  const drained = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });

  const subscription = await sessions.subscribe(sessionId, {
    deliver: (delivery) => (replaying ? hold(delivery) : write(delivery)),
    end: () => {
      sessionGone = true;
      if (!replaying) finish();
    },
  });
  unsubscribe = subscription.unsubscribe;
  forget = lifecycle.streaming(res, finish);
  untrack = buffers.track(res, () => drop(res.writableLength));
  req.on('close', finish);
  if (req.destroyed) return finish();

  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  ping = setInterval(() => res.write(PING), options.pingIntervalMs);
  ping.unref();

  if (after === null) return;
  try {
    for (;;) {
      const page = await sessions.readEvents(sessionId, lastSent, REPLAY_PAGE, CHUNK_BYTES);
      for (const event of page.events) {
        if (ended) break;
        if (!send(new Delivery(event))) await drained();
      }
      if (page.events.length === 0 || ended) break;
    }
  } catch (error) {
    // The session may have been deleted mid-replay; its `session_deleted` is held.
    req.log.debug({ err: error, session_id: sessionId }, 'SSE replay stopped');
  }
  replaying = false;
  for (const delivery of held.splice(0)) write(delivery);
  if (sessionGone) finish();
}
