/**
 * Bamboo's objects in LangGraph's shapes: an agent is an assistant (and its
 * graph), a session a thread, a run a run, the pending question an interrupt.
 * The agent runs in the statechart's `running` state, so that is the one node
 * that tasks, `next` and `updates` name.
 */
import type { Message, MultitaskStrategy, Question, QueuedMessage, RunStatus as BambooRunStatus, SessionView } from '../../domain/types.js';
import { type LangChainMessage, toLangChain } from './messages.js';
import type { RUN_STATUSES, ThreadStatus } from './schemas.js';

export const NODE = 'running';

export interface Interrupt {
  id: string;
  value: { question: string; options: string[]; allow_custom: boolean };
}

export function interruptOf(question: Question): Interrupt {
  return { id: question.id, value: { question: question.text, options: question.options ?? [], allow_custom: question.allow_custom } };
}

export function assistantView(agent: string, since: string) {
  return {
    assistant_id: agent,
    graph_id: agent,
    name: agent,
    description: null,
    config: {},
    context: {},
    metadata: { created_by: 'system' },
    version: 1,
    created_at: since,
    updated_at: since,
  };
}

/** A waiting question comes first: input queued behind it waits for its answer too. */
export function threadStatus(session: SessionView): ThreadStatus {
  if (session.state === 'awaitingUser') return 'interrupted';
  if (session.state === 'running' || session.queued.length > 0) return 'busy';
  return session.last_run?.status === 'failed' && session.has_pending_work ? 'error' : 'idle';
}

/** What the thread was created with, plus the keys LangGraph adds once a thread has an assistant. */
export function threadMetadata(session: SessionView): Record<string, unknown> {
  return { ...session.metadata, graph_id: session.agent, assistant_id: session.agent };
}

/**
 * Bytes of messages one thread state carries at most (past its last message),
 * counted in UTF-8 as sent: a long thread's state holds its latest messages,
 * and the whole transcript is paged from the native API. A response is built
 * whole, so it must stay small.
 */
export const VALUES_BYTES = 4 * 1024 * 1024;

export type ThreadValues = { messages: LangChainMessage[] };

/**
 * The latest of `messages` that fit `maxBytes`, oldest first, and the bytes
 * they take. `atLeastOne`: the last goes in even past the budget, so a state
 * is never empty for being long.
 */
export function latestValues(messages: readonly Message[], maxBytes = VALUES_BYTES, atLeastOne = true): { values: ThreadValues; bytes: number } {
  const latest: LangChainMessage[] = [];
  let bytes = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = toLangChain(messages[i]!);
    const size = Buffer.byteLength(JSON.stringify(message));
    if ((latest.length > 0 || !atLeastOne) && bytes + size > maxBytes) break;
    latest.push(message);
    bytes += size;
  }
  return { values: { messages: latest.reverse() }, bytes };
}

export function threadValues(messages: readonly Message[], maxBytes = VALUES_BYTES): ThreadValues {
  return latestValues(messages, maxBytes).values;
}

/**
 * The latest messages within a byte budget (UTF-8, the newest always), kept
 * as messages are added: a stream's `values`, bounded like a state's, however
 * long the thread.
 */
export class ValuesWindow {
  private messages: LangChainMessage[] = [];
  private sizes: number[] = [];
  /** Messages before this index fell out of the budget. */
  private start = 0;
  private bytes = 0;

  constructor(private readonly maxBytes = VALUES_BYTES) {}

  add(message: LangChainMessage): void {
    const size = Buffer.byteLength(JSON.stringify(message));
    this.messages.push(message);
    this.sizes.push(size);
    this.bytes += size;
    while (this.messages.length - this.start > 1 && this.bytes > this.maxBytes) this.bytes -= this.sizes[this.start++]!;
    // What fell out is let go of now and then, not at every message.
    if (this.start > 64 && this.start * 2 > this.messages.length) {
      this.messages.splice(0, this.start);
      this.sizes.splice(0, this.start);
      this.start = 0;
    }
  }

  get values(): ThreadValues {
    return { messages: this.messages.slice(this.start) };
  }
}

/** `values` undefined: the caller did not select them. */
export function threadView(session: SessionView, values: ThreadValues | undefined) {
  const status = threadStatus(session);
  const question = session.pending_question;
  return {
    thread_id: session.id,
    created_at: session.created_at,
    updated_at: session.updated_at,
    state_updated_at: session.updated_at,
    metadata: threadMetadata(session),
    status,
    config: {},
    ...(values ? { values } : {}),
    interrupts: question && session.last_run ? { [session.last_run.id]: [interruptOf(question)] } : {},
    error: status === 'error' ? (session.last_run?.error ?? null) : null,
  };
}

/** What waits after a point of the thread's history: nothing, or the agent's node with what stopped it. */
export interface Pending {
  /** The run that stopped there, if any. */
  runId: string | null;
  question?: Question;
  error?: string;
}

/** The thread as it stood after one committed turn (or as it stands now). */
export interface StatePoint {
  /** The `seq` of the log event that closed it: its checkpoint id. */
  seq: number;
  at: string;
  messages: readonly Message[];
  pending: Pending | null;
  runId: string | null;
  parentSeq: number | null;
}

/** What waits now, read from the session. */
export function pendingNow(session: SessionView): Pending | null {
  if (session.state === 'running') return { runId: session.run_id };
  if (session.state === 'awaitingUser' && session.pending_question) return { runId: session.last_run?.id ?? null, question: session.pending_question };
  if (!session.has_pending_work) return null;
  const run = session.last_run && session.last_run.status !== 'completed' ? session.last_run : null;
  return { runId: run?.id ?? null, error: run ? taskError(run.status, run.error) : undefined };
}

/**
 * The `error` of the task a run left open. LangGraph's clients read a task cut
 * off by a cancel or a crash as failed: `useStream` drops such tasks after
 * `stop()`, where one without an error shows as a breakpoint to resume from.
 */
export function taskError(status: BambooRunStatus, error?: string): string | undefined {
  if (status === 'failed') return error;
  if (status === 'cancelled') return 'Run cancelled';
  if (status === 'interrupted') return 'Run interrupted: the server running it stopped';
  return undefined;
}

function checkpoint(threadId: string, seq: number | null) {
  return { thread_id: threadId, checkpoint_ns: '', checkpoint_id: seq === null ? null : String(seq), checkpoint_map: null };
}

export function stateView(session: SessionView, point: StatePoint) {
  const { pending } = point;
  const interrupts = pending?.question ? [interruptOf(pending.question)] : [];
  const tasks = pending?.runId
    ? [{ id: pending.runId, name: NODE, path: ['__pregel_pull', NODE], error: pending.error ?? null, interrupts, checkpoint: null, state: null, result: null }]
    : [];
  return {
    values: threadValues(point.messages),
    next: pending ? [NODE] : [],
    tasks,
    checkpoint: checkpoint(session.id, point.seq),
    metadata: { source: 'loop', run_id: point.runId, thread_id: session.id, graph_id: session.agent, assistant_id: session.agent },
    created_at: point.at,
    parent_checkpoint: point.parentSeq === null ? null : checkpoint(session.id, point.parentSeq),
    interrupts,
  };
}

/** A thread where nothing has happened yet: LangGraph's state without a checkpoint. */
export function emptyStateView(session: SessionView) {
  return {
    values: { messages: [] },
    next: [],
    tasks: [],
    checkpoint: checkpoint(session.id, null),
    metadata: null,
    created_at: null,
    parent_checkpoint: null,
    interrupts: [],
  };
}

export type LangGraphRunStatus = (typeof RUN_STATUSES)[number];

/** A question ends a run as LangGraph's `interrupt()` does; so do a cancel and a crash. `pending`: a queued message. */
export function runStatus(status: BambooRunStatus | 'pending'): LangGraphRunStatus {
  switch (status) {
    case 'pending':
      return 'pending';
    case 'running':
      return 'running';
    case 'completed':
      return 'success';
    case 'failed':
      return 'error';
    case 'awaiting_user':
    case 'cancelled':
    case 'interrupted':
      return 'interrupted';
  }
}

export interface RunFacts {
  id: string;
  status: BambooRunStatus | 'pending';
  startedAt: string;
  endedAt: string | null;
}

export function runView(session: SessionView, run: RunFacts, strategy: MultitaskStrategy | null = null, kwargs: Record<string, unknown> = {}) {
  return {
    run_id: run.id,
    thread_id: session.id,
    assistant_id: session.agent,
    created_at: run.startedAt,
    updated_at: run.endedAt ?? run.startedAt,
    status: runStatus(run.status),
    metadata: {},
    // Known only to the request that created the run.
    multitask_strategy: strategy,
    kwargs,
  };
}

/** A message queued behind the active run, as the pending run it will become (named by the message's id). */
export function pendingRunView(session: SessionView, message: QueuedMessage) {
  const input = { messages: [{ type: 'human', id: message.id, content: message.content }] };
  return runView(session, { id: message.id, status: 'pending', startedAt: message.created_at, endedAt: null }, 'enqueue', { input });
}

/** The fields a search's `select` names. */
export function selectFields<T extends object>(value: T, fields: readonly string[]): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => fields.includes(key))) as Partial<T>;
}

/** A state's fields that `select` names, none selected meaning all; `values.<key>` keeps that key of its values, as LangGraph's state select does. */
export function selectState<T extends { values: Record<string, unknown> }>(state: T, fields: readonly string[] | null): Partial<T> {
  if (!fields || fields.length === 0) return state;
  const picked: Partial<T> = selectFields(state, fields);
  const keys = fields.filter((field) => field.startsWith('values.')).map((field) => field.slice('values.'.length));
  if (keys.length > 0 && !fields.includes('values')) picked.values = selectFields(state.values, keys) as T['values'];
  return picked;
}
