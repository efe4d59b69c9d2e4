/** The session machine's rules as plain functions of context and event data, so each reads on its own. */
import type { LogEvent } from '../src/domain/events.js';
import type { LastRun, Message, Question, RunStatus } from '../src/domain/types.js';
import type { Answer, Rejection, SessionContext } from './session.types.js';

/** How a run ends without a result of its own. */
export interface Abandonment {
  status: Extract<RunStatus, 'cancelled' | 'interrupted' | 'failed'>;
  at: string;
  error?: string;
}

/** A context change and the log events that record it. */
export interface Step {
  patch: Partial<SessionContext>;
  events: LogEvent[];
}

export function isAllowedAnswer(question: Question, answer: string): boolean {
  return question.allow_custom || (question.options ?? []).includes(answer);
}

export function isReplayedAnswer(lastAnswer: SessionContext['lastAnswer'], answer: Answer): boolean {
  return lastAnswer?.questionId === answer.questionId && lastAnswer.answer === answer.answer;
}

/** Why an answer that does not name the open question is refused. */
export function mismatchOrNoQuestion(context: SessionContext, answer: Answer): Rejection {
  const named = context.pendingQuestion !== null || context.lastAnswer?.questionId === answer.questionId;
  return named
    ? { code: 'question_mismatch', message: `Question ${answer.questionId} is not the open question, or was answered differently` }
    : { code: 'no_pending_question', message: 'The session has no pending question' };
}

export function endRun(lastRun: LastRun | null, status: RunStatus, at: string, error?: string): LastRun | null {
  if (!lastRun) return null;
  return { ...lastRun, status, ended_at: at, ...(error === undefined ? {} : { error }) };
}

/**
 * The active run ends without a result (cancelled, interrupted, failed): its
 * user turn is still unanswered, so the pending work is kept and `resume`
 * retries it. A cancelled run's `partial` output is kept, marked interrupted.
 */
export function abandoned(context: SessionContext, { status, at, error }: Abandonment, partial?: Message): Step {
  const run_id = context.runId!;
  const patch = { runId: null, hasPendingWork: true, lastRun: endRun(context.lastRun, status, at, error) };
  switch (status) {
    case 'failed':
      return { patch, events: [{ type: 'run_failed', at, run_id, error: error ?? 'The run failed' }] };
    case 'cancelled': {
      const kept: LogEvent[] = partial ? [{ type: 'message_appended', at, run_id, message: { ...partial, run_id, interrupted: true } }] : [];
      return { patch, events: [...kept, { type: 'run_cancelled', at, run_id }] };
    }
    case 'interrupted':
      return { patch, events: [{ type: 'run_interrupted', at, run_id }] };
  }
}

/** A user message joins the pending turn. */
export function userTurn(context: SessionContext, message: Message): Step {
  return {
    patch: { hasPendingWork: true, turn: [...context.turn, message.id] },
    events: [{ type: 'message_appended', at: message.created_at, message }],
  };
}

export function queueHasRoom(context: SessionContext, maxQueued: number): boolean {
  return maxQueued <= 0 || context.queue.length < maxQueued;
}

export function queueFull(maxQueued: number): Rejection {
  return { code: 'queue_full', message: `${maxQueued} messages are already queued; wait for them, or remove one`, details: { limit: maxQueued } };
}

export function queuedAhead(context: SessionContext): Rejection {
  const n = context.queue.length;
  return {
    code: 'session_busy',
    message: `${n} queued message${n === 1 ? ' is' : 's are'} about to run; wait for ${n === 1 ? 'it' : 'them'}, or send with multitask_strategy "enqueue"`,
  };
}

export function notQueued(messageId: string): Rejection {
  return { code: 'queued_message_not_found', message: `No queued message with id ${messageId}` };
}

/** The first queued message becomes the user turn, as the session is free. */
export function fromQueue(context: SessionContext, at: string): Step {
  const [next, ...rest] = context.queue;
  const message: Message = { id: next!.id, role: 'user', content: next!.content, created_at: next!.created_at };
  const { patch, events } = userTurn(context, message);
  return { patch: { ...patch, queue: rest }, events: events.map((event) => ({ ...event, at })) };
}
