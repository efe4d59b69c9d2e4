/**
 * `runs.wait` and `runs.join`: block until a run ends, then answer the
 * thread's values as LangGraph does: `{ messages }`, with `__interrupt__`
 * while a question waits and `__error__` when the run failed.
 */
import type { Response } from 'express';
import { isRunEnding } from '../../domain/events.js';
import type { TenantSessions } from '../../runtime/runtime.js';
import { LangGraphError } from './errors.js';
import { readLatest } from './log.js';
import { interruptOf, threadValues } from './views.js';

/** Resolves once `runId` has ended (at once if it has); rejects if the thread is deleted or `signal` aborts. */
export async function runEnd(sessions: TenantSessions, threadId: string, runId: string, signal: AbortSignal): Promise<void> {
  let settle: (error?: Error) => void = () => {};
  const ended = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  // Subscribed before the session is read: an end committed in between is delivered.
  const { unsubscribe } = await sessions.subscribe(threadId, {
    deliver: ({ event }) => {
      if (isRunEnding(event) && event.run_id === runId) settle();
    },
    end: () => settle(new LangGraphError(404, `Thread ${threadId} was deleted`)),
  });
  // Settled (rejected) maybe before it is awaited below: handled now, so that is never an unhandled rejection.
  ended.catch(() => undefined);
  const abort = () => settle(new Error('Stopped waiting for the run'));
  signal.addEventListener('abort', abort, { once: true });
  // The client may have gone while the subscription was made.
  if (signal.aborted) abort();
  try {
    const session = await sessions.getSession(threadId);
    if (session.run_id !== runId) settle();
    await ended;
  } finally {
    signal.removeEventListener('abort', abort);
    unsubscribe();
  }
}

/** The thread's values once `runId` is over (null: a queued run that never started). */
export async function valuesAfter(sessions: TenantSessions, threadId: string, runId: string | null): Promise<Record<string, unknown>> {
  const session = await sessions.getSession(threadId);
  const values: Record<string, unknown> = threadValues(await readLatest(sessions, threadId));
  if (session.state === 'awaitingUser' && session.pending_question) values.__interrupt__ = [interruptOf(session.pending_question)];
  const run = session.last_run;
  if (run?.id === runId && run.status === 'failed') values.__error__ = { error: 'RunFailed', message: run.error ?? 'The run failed' };
  return values;
}

/**
 * Answers `work`'s result as JSON. A quick answer gets its own status; past
 * `patienceMs` the headers go out (200) and a newline follows at that pace, so
 * proxies keep a long wait open; a failure after that is told as `__error__`.
 */
export async function answerWhenDone(res: Response, work: Promise<unknown>, patienceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const keepAlive = () => {
    if (!res.headersSent) {
      res.status(200).type('application/json');
      res.flushHeaders();
    }
    res.write('\n');
    timer = setTimeout(keepAlive, patienceMs);
  };
  timer = setTimeout(keepAlive, patienceMs);
  try {
    const result = await work;
    if (res.headersSent) res.end(JSON.stringify(result));
    else res.json(result);
  } catch (error) {
    // The client left: nobody is there to answer.
    if (res.destroyed || res.socket?.destroyed) return;
    if (!res.headersSent) throw error;
    const message = error instanceof Error ? error.message : 'The wait failed';
    res.end(JSON.stringify({ __error__: { error: error instanceof LangGraphError ? 'NotFound' : 'Error', message } }));
  } finally {
    clearTimeout(timer);
  }
}
