/**
 * A run's LangGraph stream over Server-Sent Events, derived from the session's
 * log the way the native stream is (src/http/sse.ts): subscribe first, replay
 * from the log while holding live events, then go live; every event is
 * translated exactly once, in `seq` order. Translation starts at the run's
 * first event, so a stream resumed with `Last-Event-ID` knows the run's state;
 * only the frames of later events are sent. The frames of one event go out
 * together and the last carries the event's `seq` as its id, so a client that
 * reconnects with it misses nothing and gets nothing twice. The stream ends
 * after the run's `end`.
 */
import type { Request, Response } from 'express';
import { SessionError } from '../../domain/errors.js';
import type { SessionEvent } from '../../domain/events.js';
import type { TenantSessions } from '../../runtime/runtime.js';
import type { BufferBudget } from '../buffer-budget.js';
import type { Lifecycle } from '../lifecycle.js';
import type { SseOptions } from '../sse.js';
import { PING, STREAM_HEADERS, StreamResponse } from '../stream-response.js';
import { eventsBetween, transcriptAt } from './log.js';
import { type Frame, RunTranslator, type RunScope } from './translate.js';
import { VALUES_BYTES } from './views.js';

export interface RunStreamContext {
  sessions: TenantSessions;
  lifecycle: Lifecycle;
  buffers: BufferBudget;
  options: SseOptions;
}

export interface RunStreamPlan {
  scope: RunScope;
  /** The `seq` of the run's `run_started`. */
  startSeq: number;
  /** The client has the frames of events up to here (`Last-Event-ID`); `startSeq - 1` for all. */
  sentUpTo: number;
  /** Cancel the run if the client goes before it ends (`on_disconnect: "cancel"`). */
  cancelOnDisconnect: boolean;
  /** Extra response headers (`Location`, `Content-Location`). */
  headers: Record<string, string>;
}

/**
 * Opens the stream of a run that is still queued: its headers (naming the
 * pending run, which its message's id stands for until it starts) go out at
 * once, then a keep-alive comment at the ping interval, so neither the client
 * nor a proxy gives up while it waits. Returns the function that stops the pings.
 */
export function openWaitingStream(res: Response, headers: Record<string, string>, pingIntervalMs: number): () => void {
  res.writeHead(200, { ...headers, ...STREAM_HEADERS });
  res.flushHeaders();
  const ping = setInterval(() => res.write(PING), pingIntervalMs);
  ping.unref();
  return () => clearInterval(ping);
}

export function encodeFrames(frames: readonly Frame[], id: number | null): string {
  return frames
    .map((frame, i) => `event: ${frame.event}\ndata: ${JSON.stringify(frame.data)}\n${i === frames.length - 1 && id !== null ? `id: ${id}\n` : ''}\n`)
    .join('');
}

export async function streamRun({ sessions, lifecycle, buffers, options }: RunStreamContext, plan: RunStreamPlan, req: Request, res: Response): Promise<void> {
  const threadId = plan.scope.threadId;
  // Twice the budget of `values`: the messages the run added since its start are read, then left out.
  const before = plan.scope.modes.has('values') ? await transcriptAt(sessions, threadId, plan.startSeq, 2 * VALUES_BYTES) : [];
  const translator = new RunTranslator(plan.scope, before);
  const stream = new StreamResponse(req, res, { ...options, sessionId: threadId, tooSlow: 'LangGraph stream client too slow; disconnecting' });
  let translated = plan.startSeq - 1;
  let replaying = true;
  let sessionGone = false;

  /** Translates one event; false when the client should be let drain first. */
  const translate = (event: SessionEvent): boolean => {
    if (stream.ended) return true;
    const deleted = event.type === 'session_deleted';
    if (!deleted) {
      if (event.seq <= translated) return true;
      translated = event.seq;
    }
    const frames = translator.translate(event);
    let ready = true;
    if (frames.length > 0 && (deleted || event.seq > plan.sentUpTo)) ready = res.write(encodeFrames(frames, deleted ? null : event.seq));
    if (translator.ended) stream.finish();
    return ready;
  };
  const live = (event: SessionEvent) => {
    translate(event);
    stream.dropIfBehind();
    buffers.report(res);
  };

  const subscription = await sessions.subscribe(threadId, {
    deliver: (delivery) => (replaying ? stream.hold(delivery) : live(delivery.event)),
    end: () => {
      sessionGone = true;
      if (!replaying) stream.finish();
    },
  });
  stream.onFinish(subscription.unsubscribe);
  stream.onFinish(lifecycle.streaming(res, stream.finish));
  stream.onFinish(buffers.track(res, () => stream.drop()));
  // The response closes when the client goes, or after `finish` (then nothing is cancelled).
  res.on('close', () => {
    if (!stream.ended && plan.cancelOnDisconnect && !translator.ended) cancelRun(sessions, plan.scope, req);
    stream.finish();
  });
  // A POST's request stream is done once its body is read; the socket tells whether the client is still there.
  if (res.destroyed || !req.socket || req.socket.destroyed) {
    // Gone before the stream began: `on_disconnect: "cancel"` holds for it too.
    if (plan.cancelOnDisconnect) cancelRun(sessions, plan.scope, req);
    return stream.finish();
  }

  // A queued run's stream has sent its headers while it waited.
  stream.open(plan.headers);
  try {
    for await (const event of eventsBetween(sessions, threadId, translated)) {
      if (stream.ended) break;
      if (!translate(event)) await stream.drained();
    }
  } catch (error) {
    if (stream.cutAfterFailedReplay(error, sessionGone)) return;
  }
  replaying = false;
  for (const { event } of stream.releaseHeld()) live(event);
  if (sessionGone) stream.finish();
}

/** The stream of a queued run that was taken back before it started: it ends at once. */
export function streamNeverStarted(res: Response, runId: string): void {
  if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform' });
  res.end(encodeFrames([{ event: 'metadata', data: { run_id: runId, attempt: 1 } }, { event: 'end', data: { run_id: runId, status: 'interrupted' } }], null));
}

/** Cancels the run if it is still the thread's active one. */
export function cancelRun(sessions: TenantSessions, scope: Pick<RunScope, 'threadId' | 'runId'>, req: Request): void {
  const { threadId, runId } = scope;
  sessions.cancel(threadId, runId).catch((err: unknown) => {
    // The run ended (or another took its place) before the cancel: nothing to do.
    if (err instanceof SessionError && err.code === 'not_running') return;
    req.log.warn({ err, session_id: threadId, run_id: runId }, 'could not cancel a run whose client left');
  });
}
