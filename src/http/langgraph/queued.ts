/**
 * Runs queued with `multitask_strategy: "enqueue"`. The runtime queues the
 * message, not a run: the run gets its id only when the message's turn comes.
 * Until then LangGraph's pending run is named by the queued message's id, and
 * every call given that id follows the run the message becomes (the message
 * keeps its id when it joins the transcript, just before its run starts).
 */
import type { SessionEvent } from '../../domain/events.js';
import type { TenantSessions } from '../../runtime/runtime.js';
import { eventsBetween, findEvent } from './log.js';

/** What became of a queued message. */
export type QueuedFate =
  | { kind: 'started'; runId: string; startSeq: number }
  /** Taken back before it ran, or its thread was deleted. */
  | { kind: 'dropped'; queuedAt: string; at: string }
  /** Still queued (only when not waiting). */
  | { kind: 'waiting'; queuedAt: string };

/** The log after `after`, then its live events, until `signal` aborts or the session is deleted. */
async function* followLog(sessions: TenantSessions, id: string, after: number, signal: AbortSignal): AsyncGenerator<SessionEvent> {
  const held: SessionEvent[] = [];
  let gone = false;
  let wake: () => void = () => {};
  const { unsubscribe } = await sessions.subscribe(id, {
    deliver: ({ event }) => {
      held.push(event);
      wake();
    },
    end: () => {
      gone = true;
      wake();
    },
  });
  const onAbort = () => wake();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    let last = after;
    for await (const event of eventsBetween(sessions, id, after)) {
      last = event.seq;
      yield event;
    }
    for (;;) {
      for (const event of held.splice(0)) {
        if (event.type === 'session_deleted') return;
        if (event.seq <= last) continue;
        last = event.seq;
        yield event;
      }
      if (gone || signal.aborted) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    unsubscribe();
  }
}

/**
 * The fate of queued message `messageId`, or null if the thread never queued
 * it. With `wait`, resolves once the message has run or been dropped (or
 * `signal` aborts); without, reads only what the log holds now.
 */
export async function fateOfQueued(sessions: TenantSessions, threadId: string, messageId: string, wait: AbortSignal | null): Promise<QueuedFate | null> {
  const { last_event_seq: lastSeq } = await sessions.getSession(threadId);
  const queued = await findEvent(sessions, threadId, lastSeq, (event) => event.type === 'message_queued' && event.message.id === messageId);
  if (!queued) return null;
  let appended = false;
  for await (const event of followLog(sessions, threadId, queued.seq, wait ?? AbortSignal.abort())) {
    if (event.type === 'message_dequeued' && event.message_id === messageId) return { kind: 'dropped', queuedAt: queued.at, at: event.at };
    if (event.type === 'message_appended' && event.message.id === messageId) appended = true;
    else if (appended && event.type === 'run_started') return { kind: 'started', runId: event.run_id, startSeq: event.seq };
  }
  // Not waiting, or the client left: still queued (or about to run). Waiting, the log only ends when the thread goes.
  if (!wait || wait.aborted) return { kind: 'waiting', queuedAt: queued.at };
  return { kind: 'dropped', queuedAt: queued.at, at: new Date().toISOString() };
}
