/**
 * What LangGraph's API asks of a thread's past, read from the session's log:
 * its runs, the transcript as it stood at a given event, and its history
 * (one point per committed turn). The log is the only record, so these read
 * it; finding one event reads back from the end, where recent runs are.
 */
import { isRunEnding, type RunEnding, type SessionEvent } from '../../domain/events.js';
import type { Message, RunStatus, SessionView } from '../../domain/types.js';
import type { TenantSessions } from '../../runtime/runtime.js';
import { CHUNK_BYTES } from '../pages.js';
import { type Pending, type RunFacts, type StatePoint, taskError, VALUES_BYTES } from './views.js';

const PAGE = 1000;

/** Events with `after < seq <= until`, in order, read `pageSize` at a time. */
export async function* eventsBetween(sessions: TenantSessions, id: string, after: number, until = Number.MAX_SAFE_INTEGER, pageSize = PAGE): AsyncGenerator<SessionEvent> {
  for (let from = after; from < until; ) {
    const page = await sessions.readEvents(id, from, pageSize, CHUNK_BYTES);
    if (page.events.length === 0) return;
    for (const event of page.events) {
      if (event.seq > until) return;
      yield event;
    }
    from = page.next_after;
  }
}

/** A read of the latest messages is bounded by their bytes, not their number. */
const ANY_NUMBER = Number.MAX_SAFE_INTEGER;

/**
 * The transcript's latest messages that fit `maxBytes` as stored (the last
 * always), oldest first: read back from the end, never whole. The stored
 * form is about the size of LangChain's; `latestValues` cuts to that.
 */
export function readLatest(sessions: TenantSessions, id: string, maxBytes = VALUES_BYTES): Promise<Message[]> {
  return sessions.readRecentMessages(id, ANY_NUMBER, maxBytes);
}

/** The whole transcript, oldest first: for the history and a stream's `values`, which need all of it. */
export async function readTranscript(sessions: TenantSessions, id: string): Promise<Message[]> {
  const messages: Message[] = [];
  let cursor: string | undefined;
  do {
    const page = await sessions.readMessages(id, { limit: PAGE, cursor, maxBytes: CHUNK_BYTES });
    messages.push(...page.messages);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return messages;
}

/**
 * The transcript's latest messages once event `seq` was committed, read
 * within `maxBytes` from the end. It grows by one message per
 * `message_appended`, in log order, so it is the current one less the messages
 * appended since; a rollback since (`messages_removed`) took messages out, and
 * then the log is replayed up to `seq` instead.
 */
export async function transcriptAt(sessions: TenantSessions, id: string, seq: number, maxBytes: number): Promise<Message[]> {
  const current = await readLatest(sessions, id, maxBytes);
  // Read after the transcript, the log's end covers every message in it.
  const { last_event_seq: lastSeq } = await sessions.getSession(id);
  const later = new Set<string>();
  for await (const event of eventsBetween(sessions, id, seq, lastSeq)) {
    if (event.type === 'messages_removed') return replayTranscript(sessions, id, seq);
    if (event.type === 'message_appended') later.add(event.message.id);
  }
  return current.filter((message) => !later.has(message.id));
}

async function replayTranscript(sessions: TenantSessions, id: string, seq: number): Promise<Message[]> {
  const transcript = new Transcript();
  for await (const event of eventsBetween(sessions, id, 0, seq)) transcript.apply(event);
  return transcript.messages;
}

/** The transcript as the log builds it. */
class Transcript {
  messages: Message[] = [];

  apply(event: SessionEvent): void {
    if (event.type === 'message_appended') this.messages.push(event.message);
    else if (event.type === 'messages_removed') {
      const removed = new Set(event.message_ids);
      this.messages = this.messages.filter((message) => !removed.has(message.id));
    }
  }
}

/** The latest event at or before `lastSeq` that `matches`, read back from there in growing windows; null if none. */
export async function findEvent(sessions: TenantSessions, id: string, lastSeq: number, matches: (event: SessionEvent) => boolean): Promise<SessionEvent | null> {
  for (let until = lastSeq, size = PAGE; until > 0; until -= size, size *= 4) {
    let found: SessionEvent | null = null;
    for await (const event of eventsBetween(sessions, id, Math.max(0, until - size), until)) if (matches(event)) found = event;
    if (found) return found;
  }
  return null;
}

/**
 * The checkpoint of the latest turn closed before event `seq`, as
 * `readHistory` closes turns (a run's ending and the state changes right
 * after it) and keeps them (not rolled back), or null: the parent of a state
 * at `seq`. Read back from `seq`, so it costs the log since that turn, not
 * the whole log.
 */
export async function turnBefore(sessions: TenantSessions, id: string, seq: number): Promise<number | null> {
  for (let until = seq - 1; until > 0; ) {
    const ending = await findEvent(sessions, id, until, isRunEnding);
    if (!ending) return null;
    let closed = ending.seq;
    let removed: string[] | null = null;
    // A few at a time: one state change or two follow an ending, then the log goes on. A rollback
    // takes the turn's messages out right after its ending (and the withdrawal of its question).
    for await (const event of eventsBetween(sessions, id, ending.seq, seq, 4)) {
      if (event.type === 'state_changed' && event.seq === closed + 1) closed = event.seq;
      else if (event.type !== 'question_withdrawn') {
        if (event.type === 'messages_removed') removed = event.message_ids;
        break;
      }
    }
    if (removed) {
      // Rolled back, with every run of its turn: the parent is a turn before the turn's first message.
      until = (await firstAppended(sessions, id, removed, ending.seq)) - 1;
      continue;
    }
    if (closed < seq) return closed;
    // The turn closes at `seq` itself: its parent is the turn before.
    until = ending.seq - 1;
  }
  return null;
}

/** The earliest `seq` at which one of `messageIds` was appended, before `seq`; `seq` when none was. */
async function firstAppended(sessions: TenantSessions, id: string, messageIds: readonly string[], seq: number): Promise<number> {
  let first = seq;
  for (const messageId of messageIds) {
    const appended = await findEvent(sessions, id, seq, (event) => event.type === 'message_appended' && event.message.id === messageId);
    if (appended) first = Math.min(first, appended.seq);
  }
  return first;
}

/** The `seq` of `runId`'s `run_started`, at or after `after + 1`: a command may record other events before it. */
export async function runStartAfter(sessions: TenantSessions, id: string, runId: string, after: number): Promise<number | null> {
  for await (const event of eventsBetween(sessions, id, after)) if (event.type === 'run_started' && event.run_id === runId) return event.seq;
  return null;
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

/**
 * One run by id, or null: its start read back from the log's end, then
 * forward to its end and on, since a later rollback of its turn removes it,
 * as LangGraph's rollback deletes the run.
 */
export async function findRun(sessions: TenantSessions, id: string, runId: string, lastSeq: number): Promise<RunRecord | null> {
  const start = await findEvent(sessions, id, lastSeq, (event) => event.type === 'run_started' && event.run_id === runId);
  if (start?.type !== 'run_started') return null;
  const run = started(start);
  const appendedSince = new Set<string>();
  for await (const event of eventsBetween(sessions, id, run.startSeq)) {
    if (isRunEnding(event) && event.run_id === runId) end(run, event);
    else if (event.type === 'message_appended') appendedSince.add(event.message.id);
    // Messages of its turn were appended before it started: taking one out rolls the run back.
    else if (event.type === 'messages_removed' && event.message_ids.some((message) => !appendedSince.has(message))) return null;
  }
  return run;
}

/** What waits after a run's end: nothing once it completed; its question; otherwise the same turn, to retry. */
function pendingAfter(run: RunRecord): Pending | null {
  const ending = run.ending;
  if (!ending || ending.type === 'run_completed') return null;
  if (ending.type === 'question_asked') return { runId: run.id, question: ending.question };
  return { runId: run.id, error: taskError(ENDED_AS[ending.type], ending.type === 'run_failed' ? ending.error : undefined) };
}

export interface History {
  runs: RunRecord[];
  /** One point per run that ended, oldest first. */
  turns: StatePoint[];
}

/**
 * The whole log, read once: every run and every committed turn with the
 * transcript as it then stood. A rolled-back turn leaves both, as LangGraph's
 * rollback deletes its run and checkpoints; a queued message taken back
 * before it ran stays as a cancelled run, under the id its pending run had.
 */
export async function readHistory(sessions: TenantSessions, id: string): Promise<History> {
  let runs: RunRecord[] = [];
  let turns: StatePoint[] = [];
  const transcript = new Transcript();
  const appendedAt = new Map<string, number>();
  const queued = new Map<string, SessionEvent>();
  const takenBack: RunRecord[] = [];
  let current: RunRecord | null = null;
  for await (const event of eventsBetween(sessions, id, 0)) {
    transcript.apply(event);
    if (event.type === 'message_appended') appendedAt.set(event.message.id, event.seq);
    else if (event.type === 'message_queued') queued.set(event.message.id, event);
    else if (event.type === 'message_dequeued') {
      const asked = queued.get(event.message_id);
      if (asked) takenBack.push({ id: event.message_id, status: 'cancelled', startedAt: asked.at, endedAt: event.at, startSeq: asked.seq, ending: null });
    } else if (event.type === 'messages_removed') {
      // The turn began with the earliest message taken out: its runs, and their checkpoints, go.
      const from = Math.min(...event.message_ids.map((message) => appendedAt.get(message) ?? Number.MAX_SAFE_INTEGER));
      const gone = new Set(runs.filter((run) => run.startSeq > from).map((run) => run.id));
      runs = runs.filter((run) => !gone.has(run.id));
      turns = turns.filter((turn) => turn.runId === null || !gone.has(turn.runId));
    }
    if (event.type === 'run_started') runs.push((current = started(event)));
    else if (isRunEnding(event) && current?.id === event.run_id) {
      end(current, event);
      const parentSeq = turns.at(-1)?.seq ?? null;
      turns.push({ seq: event.seq, at: event.at, messages: transcript.messages.slice(), pending: pendingAfter(current), runId: current.id, parentSeq });
      current = null;
    } else if (event.type === 'state_changed') {
      // The state change that follows an ending in the same commit is part of that turn.
      const last = turns.at(-1);
      if (last && last.seq === event.seq - 1) {
        last.seq = event.seq;
        last.at = event.at;
      }
    }
  }
  // In order of creation, as LangGraph lists runs: a taken-back message where it was queued.
  return { runs: takenBack.length === 0 ? runs : [...runs, ...takenBack].sort((a, b) => a.startSeq - b.startSeq), turns };
}

/** The points of the thread's history, newest first: the turns, and now, when something happened since the last. */
export function historyPoints(session: SessionView, history: History, messages: readonly Message[], pendingNow: Pending | null): StatePoint[] {
  const points = history.turns.slice();
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
