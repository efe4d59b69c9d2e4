/** The session machine's rules as plain functions of context and event data, so each reads on its own. */
import type { LogEvent } from '../src/domain/events.js';
import type { LastRun, Question, RunStatus } from '../src/domain/types.js';
import type { Rejection, SessionContext } from './session.machine.js';

/** An answer to the open question, as `question.answer` carries it. */
export interface Answer {
  questionId: string;
  answer: string;
  /** The id of the `tool` message that records the answer. */
  messageId: string;
  at: string;
}

/** How a run ends without a result of its own. */
export interface Abandonment {
  status: Extract<RunStatus, 'cancelled' | 'interrupted' | 'failed'>;
  at: string;
  error?: string;
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
 * user turn is still unanswered, so the pending work is kept and `resume` retries it.
 */
export function abandoned(context: SessionContext, status: Abandonment['status'], at: string, error?: string): { patch: Partial<SessionContext>; event: LogEvent } {
  const run_id = context.runId!;
  const patch = { runId: null, hasPendingWork: true, lastRun: endRun(context.lastRun, status, at, error) };
  switch (status) {
    case 'failed':
      return { patch, event: { type: 'run_failed', at, run_id, error: error ?? 'The run failed' } };
    case 'cancelled':
      return { patch, event: { type: 'run_cancelled', at, run_id } };
    case 'interrupted':
      return { patch, event: { type: 'run_interrupted', at, run_id } };
  }
}
