/**
 * Runs by the ids LangGraph's clients hold: a run's id (`run_…`), or, for a
 * run queued with `enqueue`, its message's id (`msg_…`), which names the
 * pending run and then the run it becomes.
 */
import type { SessionView } from '../../domain/types.js';
import type { TenantSessions } from '../../runtime/runtime.js';
import { runNotFound } from './errors.js';
import { findRun } from './log.js';
import { fateOfQueued } from './queued.js';
import type { RunFacts } from './views.js';

export interface RunStart {
  runId: string;
  /** The `seq` of its `run_started`. */
  startSeq: number;
}

/** Bamboo mints both kinds of id, so the prefix tells them apart. */
export function isQueuedRef(ref: string): boolean {
  return ref.startsWith('msg_');
}

/** The run `ref` names, as it stands now. */
export async function runFacts(sessions: TenantSessions, session: SessionView, ref: string): Promise<RunFacts> {
  if (isQueuedRef(ref)) {
    const queued = session.queued.find((message) => message.id === ref);
    if (queued) return { id: ref, status: 'pending', startedAt: queued.created_at, endedAt: null };
    const fate = await fateOfQueued(sessions, session.id, ref, null);
    if (!fate) throw runNotFound(ref);
    if (fate.kind === 'started') return runFacts(sessions, session, fate.runId);
    if (fate.kind === 'waiting') return { id: ref, status: 'pending', startedAt: fate.queuedAt, endedAt: null };
    return { id: ref, status: 'cancelled', startedAt: fate.queuedAt, endedAt: fate.at };
  }
  const last = lastRunFacts(session, ref);
  if (last) return last;
  const run = await findRun(sessions, session.id, ref, session.last_event_seq);
  if (!run) throw runNotFound(ref);
  return run;
}

/** The session's last run, when it is `runId`: read from the session, without the log. */
export function lastRunFacts(session: SessionView, runId: string): RunFacts | null {
  const last = session.last_run;
  return last?.id === runId ? { id: last.id, status: last.status, startedAt: last.started_at, endedAt: last.ended_at } : null;
}

/** Where the run `ref` starts, waiting (until `signal` aborts) while it is queued; null when it never will. */
export async function runStart(sessions: TenantSessions, session: SessionView, ref: string, signal: AbortSignal): Promise<RunStart | null> {
  if (isQueuedRef(ref)) {
    const fate = await fateOfQueued(sessions, session.id, ref, signal);
    if (!fate) throw runNotFound(ref);
    return fate.kind === 'started' ? { runId: fate.runId, startSeq: fate.startSeq } : null;
  }
  const run = await findRun(sessions, session.id, ref, session.last_event_seq);
  if (!run) throw runNotFound(ref);
  return { runId: run.id, startSeq: run.startSeq };
}
