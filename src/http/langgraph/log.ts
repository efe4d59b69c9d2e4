/**
 * What LangGraph's API asks of a thread's past, read from the session's log:
 * its runs, the transcript as it stood at a given event, and its history
 * (one point per committed turn). The log is the only record, so these read
 * it; finding one run reads back from the end, where recent runs are.
 */
import { isRunEnding, type RunEnding, type SessionEvent } from '../../domain/events.js';
import type { Message, RunStatus, SessionView } from '../../domain/types.js';
import type { TenantSessions } from '../../runtime/runtime.js';
import { CHUNK_BYTES } from '../pages.js';
import type { Pending, RunFacts, StatePoint } from './views.js';

const PAGE = 1000;

/** Events with `after < seq <= until`, in order. */
export async function* eventsBetween(sessions: TenantSessions, id: string, after: number, until = Number.MAX_SAFE_INTEGER): AsyncGenerator<SessionEvent> {
  for (let from = after; from < until; ) {
    const page = await sessions.readEvents(id, from, PAGE, CHUNK_BYTES);
    if (page.events.length === 0) return;
    for (const event of page.events) {
      if (event.seq > until) return;
      yield event;
    }
    from = page.next_after;
  }
}

/** The first `count` messages of the transcript (all by default), oldest first. */
export async function readTranscript(sessions: TenantSessions, id: string, count = Number.MAX_SAFE_INTEGER): Promise<Message[]> {
  const messages: Message[] = [];
  let cursor: string | undefined;
  while (messages.length < count) {
    const page = await sessions.readMessages(id, { limit: Math.min(PAGE, count - messages.length), cursor, maxBytes: CHUNK_BYTES });
    messages.push(...page.messages);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return messages.slice(0, count);
}

/**
 * The transcript once event `seq` was committed. The transcript grows by one
 * message per `message_appended`, in log order, so it is the current one less
 * the messages appended after `seq`.
 */
export async function transcriptAt(sessions: TenantSessions, id: string, seq: number): Promise<Message[]> {
  const session = await sessions.getSession(id);
  let later = 0;
  for await (const event of eventsBetween(sessions, id, seq, session.last_event_seq)) if (event.type === 'message_appended') later++;
  return readTranscript(sessions, id, session.message_count - later);
}

/** A run as the log tells it. */
export interface RunRecord extends RunFacts {
  startSeq: number;
  ending: RunEnding | null;
}

function started(event: SessionEvent & { type: 'run_started' }): RunRecord {
  return { id: event.run_id, status: 'running', startedAt: event.at, endedAt: null, startSeq: event.seq, ending: null };
}

const ENDED_AS: Record<RunEnding['type'], RunStatus> = {
  run_completed: 'completed',
  question_asked: 'awaiting_user',
  run_failed: 'failed',
  run_cancelled: 'cancelled',
  run_interrupted: 'interrupted',
};

function end(run: RunRecord, ending: RunEnding): void {
  run.ending = ending;
  run.status = ENDED_AS[ending.type];
  run.endedAt = ending.at;
}

/** One run by id, or null. Reads back from the log's end in growing windows, then forward to the run's end. */
export async function findRun(sessions: TenantSessions, id: string, runId: string, lastSeq: number): Promise<RunRecord | null> {
  let run: RunRecord | null = null;
  for (let until = lastSeq, size = PAGE; until > 0 && !run; until -= size, size *= 4) {
    for await (const event of eventsBetween(sessions, id, Math.max(0, until - size), until)) {
      if (event.type === 'run_started' && event.run_id === runId) {
        run = started(event);
        break;
      }
    }
  }
  if (!run) return null;
  for await (const event of eventsBetween(sessions, id, run.startSeq)) {
    if (isRunEnding(event) && event.run_id === runId) {
      end(run, event);
      break;
    }
  }
  return run;
}

/** What waits after a run's end: nothing once it completed; its question; otherwise the same turn, to retry. */
function pendingAfter(run: RunRecord): Pending | null {
  const ending = run.ending;
  if (!ending || ending.type === 'run_completed') return null;
  if (ending.type === 'question_asked') return { runId: run.id, question: ending.question };
  return { runId: run.id, error: ending.type === 'run_failed' ? ending.error : undefined };
}

export interface History {
  runs: RunRecord[];
  /** One point per run that ended, oldest first, with how many messages the transcript then held. */
  turns: (Omit<StatePoint, 'messages'> & { messageCount: number })[];
}

/** The whole log, read once: every run and every committed turn. */
export async function readHistory(sessions: TenantSessions, id: string): Promise<History> {
  const runs: RunRecord[] = [];
  const turns: History['turns'] = [];
  let messageCount = 0;
  let current: RunRecord | null = null;
  for await (const event of eventsBetween(sessions, id, 0)) {
    if (event.type === 'message_appended') messageCount++;
    else if (event.type === 'run_started') runs.push((current = started(event)));
    else if (isRunEnding(event) && current?.id === event.run_id) {
      end(current, event);
      const parentSeq = turns.at(-1)?.seq ?? null;
      turns.push({ seq: event.seq, at: event.at, messageCount, pending: pendingAfter(current), runId: current.id, parentSeq });
      current = null;
    } else if (event.type === 'state_changed') {
      // The state change that follows an ending in the same commit is part of that turn.
      const last = turns.at(-1);
      if (last && last.seq === event.seq - 1) last.seq = event.seq;
    }
  }
  return { runs, turns };
}

/** The points of the thread's history, newest first: the turns, and now, when something happened since the last. */
export function historyPoints(session: SessionView, history: History, messages: readonly Message[], pendingNow: Pending | null): StatePoint[] {
  const points: StatePoint[] = history.turns.map(({ messageCount, ...turn }) => ({ ...turn, messages: messages.slice(0, messageCount) }));
  const last = points.at(-1);
  if (messages.length > 0 && session.last_event_seq > (last?.seq ?? 0)) {
    points.push({
      seq: session.last_event_seq,
      at: session.updated_at,
      messages,
      pending: pendingNow,
      runId: session.run_id ?? session.last_run?.id ?? null,
      parentSeq: last?.seq ?? null,
    });
  }
  return points.reverse();
}
