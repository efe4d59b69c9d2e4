/**
 * The Server-Sent Events stream of one session. It subscribes before reading
 * the log, holds live events while the replay runs, then drops any it already
 * replayed: every event exactly once, in `seq` order. The replay is read from
 * the log, so it waits for the client to drain; live events cannot wait, and a
 * client that falls too far behind them is disconnected rather than allowed to
 * hold memory; it reconnects with `Last-Event-ID` and misses nothing.
 */
import type { Request, Response } from 'express';
import type { Delivery } from '../runtime/event-bus.js';
import type { SessionRuntime } from '../runtime/runtime.js';

export interface SseOptions {
  pingIntervalMs: number;
  /** Bytes queued for one slow client before it is dropped. */
  maxBufferedBytes: number;
}

const REPLAY_PAGE = 1000;

export async function streamEvents(
  runtime: SessionRuntime,
  sessionId: string,
  after: number | null,
  req: Request,
  res: Response,
  options: SseOptions,
): Promise<void> {
  await runtime.assertExists(sessionId);

  // Live-only streams start below every seq.
  let lastSent = after ?? -1;
  let replaying = after !== null;
  let sessionGone = false;
  let ended = false;
  const held: Delivery[] = [];
  let heldBytes = 0;

  const finish = () => {
    if (ended) return;
    ended = true;
    clearInterval(ping);
    unsubscribe();
    res.end();
  };
  const drop = (buffered: number) => {
    req.log?.warn({ session_id: sessionId, buffered }, 'SSE client too slow; disconnecting');
    res.destroy();
    finish();
  };
  /** Writes a frame unless already sent; false when the client should be let drain first. */
  // Frames written in one tick (a commit's events arrive together) leave in one system call.
  let corked = false;
  const uncork = () => {
    corked = false;
    res.uncork();
  };
  const send = (delivery: Delivery): boolean => {
    if (ended) return true;
    const { seq, type } = delivery.event;
    if (seq <= lastSent) return true;
    lastSent = seq;
    if (!corked) {
      corked = true;
      res.cork();
      process.nextTick(uncork);
    }
    return res.write(`id: ${seq}\nevent: ${type}\ndata: ${delivery.json}\n\n`);
  };
  const write = (delivery: Delivery) => {
    send(delivery);
    if (!ended && res.writableLength > options.maxBufferedBytes) drop(res.writableLength);
  };
  /** Live events that arrive while the replay waits for the client count against the same bound. */
  const hold = (delivery: Delivery) => {
    held.push(delivery);
    heldBytes += delivery.json.length;
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

  const unsubscribe = runtime.subscribe(sessionId, {
    deliver: (delivery) => (replaying ? hold(delivery) : write(delivery)),
    end: () => {
      sessionGone = true;
      if (!replaying) finish();
    },
  });
  const ping = setInterval(() => res.write(': ping\n\n'), options.pingIntervalMs);
  ping.unref();
  req.on('close', finish);

  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();

  // Deleted after the first check but before the subscription: its `session_deleted` went to nobody.
  if (!(await runtime.exists(sessionId).catch(() => false))) {
    finish();
    return;
  }
  if (after === null) return;
  try {
    for (;;) {
      const page = await runtime.readEvents(sessionId, lastSent, REPLAY_PAGE);
      for (const event of page.events) {
        if (ended) break;
        if (!send({ event, json: JSON.stringify(event) })) await drained();
      }
      if (page.events.length < REPLAY_PAGE || ended) break;
    }
  } catch (error) {
    // The session may have been deleted mid-replay; its `session_deleted` is held.
    req.log?.debug({ err: error, session_id: sessionId }, 'SSE replay stopped');
  }
  replaying = false;
  for (const delivery of held.splice(0)) write(delivery);
  if (sessionGone) finish();
}
