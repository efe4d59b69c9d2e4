/** The session statechart's types: its context, its events, what a run ends with, what it says back. */
import type { RejectionCode } from '../src/domain/errors.js';
import type { LogEvent } from '../src/domain/events.js';
import type { Decided, OutcomeOf } from '../src/domain/outcomes.js';
import type { LastRun, Message, Question, QueuedMessage } from '../src/domain/types.js';

export interface SessionContext {
  sessionId: string;
  /** The active run; set only in `running`. */
  runId: string | null;
  lastRun: LastRun | null;
  pendingQuestion: Question | null;
  /** The last accepted answer, so a repeated `respond` is recognised as a replay. */
  lastAnswer: { questionId: string; answer: string } | null;
  /** Mirrors Bamboo's `has_pending_user_message`: a user turn is waiting for a run. */
  hasPendingWork: boolean;
  /** Messages waiting for the session to be free, oldest first. */
  queue: QueuedMessage[];
  /** The messages of the turn no completed run has answered yet (user messages and answers): what a rollback removes. */
  turn: string[];
}

export interface RunInput {
  sessionId: string;
  runId: string;
  startedAt: string;
}

/** How a run ended, normalised by the runtime (ids and times filled in). A run never rejects: a failure is an end too. */
export type RunEnd =
  | { kind: 'completed'; message: Message }
  | { kind: 'awaitingUser'; question: Question }
  | { kind: 'failed'; error: string; at: string };

/** An answer to the open question, as `question.answer` carries it. */
export interface Answer {
  questionId: string;
  answer: string;
  /** The id of the `tool` message that records the answer. */
  messageId: string;
  at: string;
}

/** A new message that takes over from the active run or the open question, and its run. */
export interface Takeover {
  message: Message;
  runId: string;
  at: string;
}

export type SessionMachineEvent =
  | { type: 'message.append'; message: Message }
  | { type: 'resume'; runId: string; at: string }
  | ({ type: 'question.answer' } & Answer)
  /** `partial`: what the run had said so far, kept as an interrupted assistant message. */
  | { type: 'cancel'; at: string; partial?: Message }
  /** The run was cut off by a shutdown, a crash or a lost lease. */
  | { type: 'run.interrupt'; at: string }
  /** The run died outside its own promise (its host broke); it failed. */
  | { type: 'run.fail'; error: string; at: string }
  /** A message for when the session is free; `maxQueued` bounds the queue. */
  | { type: 'message.enqueue'; message: Message; maxQueued: number }
  | { type: 'queue.remove'; messageId: string; at: string }
  /** The session is free: the first queued message becomes the user turn of a new run. */
  | { type: 'queue.next'; runId: string; at: string }
  /** Cancels the active run (keeping `partial`) or withdraws the open question, then runs the new message. */
  | ({ type: 'message.interrupt'; partial?: Message } & Takeover)
  /** Like `message.interrupt`, but the superseded turn and everything it produced (`removed`) leave the transcript. */
  | ({ type: 'message.rollback'; removed: string[] } & Takeover);

export type SessionReply = (Decided<OutcomeOf<'Started' | 'AlreadyRunning' | 'Completed' | 'Queued'>> & { replayed?: true });

export interface Rejection {
  code: RejectionCode;
  message: string;
  details?: Record<string, unknown>;
}

export type SessionEmitted =
  | { type: 'record'; event: LogEvent }
  | { type: 'reply'; reply: SessionReply }
  | { type: 'rejected'; rejection: Rejection };

export interface SessionMachineInput {
  sessionId: string;
}

/** A new session's context: fresh, no run, nothing pending. */
export function initialContext(sessionId: string): SessionContext {
  return { sessionId, runId: null, lastRun: null, pendingQuestion: null, lastAnswer: null, hasPendingWork: false, queue: [], turn: [] };
}
