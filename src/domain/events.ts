/**
 * The session's durable log, typed: one variant per event type with its exact
 * payload. The machine records these, the host numbers them, the store keeps
 * them, SSE and the console show them.
 */
import type { Message, Question, SessionState } from './types.js';

interface RunScoped {
  at: string;
  run_id: string;
}

export type LogEvent =
  | { type: 'session_created'; at: string }
  /** A user turn, a tool result or an assistant reply; `run_id` when a run produced it. */
  | { type: 'message_appended'; at: string; run_id?: string; message: Message }
  | { type: 'state_changed'; at: string; from: SessionState; to: SessionState }
  | ({ type: 'run_started' } & RunScoped)
  | ({ type: 'token'; text: string } & RunScoped)
  | ({ type: 'tool_started'; tool_call_id: string; name: string; arguments: string } & RunScoped)
  | ({ type: 'tool_completed'; tool_call_id: string; result: string } & RunScoped)
  | ({ type: 'question_asked'; question: Question } & RunScoped)
  | { type: 'question_answered'; at: string; question_id: string; answer: string }
  /** A user message waits for the session to be free (`multitask_strategy: enqueue`); `position` counts from 1. */
  | { type: 'message_queued'; at: string; message: Message; position: number }
  /** A queued message was taken back before it ran. */
  | { type: 'message_dequeued'; at: string; message_id: string }
  /** Messages left the transcript (`rollback`); the log keeps every event. */
  | { type: 'messages_removed'; at: string; message_ids: string[] }
  /** The open question was set aside for a new message (`interrupt`, `rollback`). */
  | { type: 'question_withdrawn'; at: string; question_id: string }
  | ({ type: 'run_completed' } & RunScoped)
  | ({ type: 'run_failed'; error: string } & RunScoped)
  | ({ type: 'run_cancelled' } & RunScoped)
  | ({ type: 'run_interrupted' } & RunScoped)
  /** Never stored: sent to open streams as the session's log is deleted. */
  | { type: 'session_deleted'; at: string };

export type EventType = LogEvent['type'];

/** Every event type, in the order the API reference lists them. */
export const EVENT_TYPES = [
  'session_created',
  'message_appended',
  'state_changed',
  'run_started',
  'token',
  'tool_started',
  'tool_completed',
  'question_asked',
  'question_answered',
  'question_withdrawn',
  'message_queued',
  'message_dequeued',
  'messages_removed',
  'run_completed',
  'run_failed',
  'run_cancelled',
  'run_interrupted',
  'session_deleted',
] as const satisfies readonly EventType[];

/** An event as it stands in a session's log: numbered, gap-free from 1. */
export type SessionEvent = LogEvent & { seq: number; session_id: string };

/** The events that end a run; exactly one closes each `run_started`. */
export const RUN_ENDINGS = ['run_completed', 'question_asked', 'run_failed', 'run_cancelled', 'run_interrupted'] as const satisfies readonly EventType[];
export type RunEnding = Extract<LogEvent, { type: (typeof RUN_ENDINGS)[number] }>;

export function isRunEnding(event: LogEvent): event is RunEnding {
  return (RUN_ENDINGS as readonly string[]).includes(event.type);
}

/** Numbers an event for the log of `sessionId`. */
export function numbered(event: LogEvent, seq: number, sessionId: string): SessionEvent {
  return { seq, session_id: sessionId, ...event };
}

/** The run an event belongs to, if any. */
export function runIdOf(event: LogEvent): string | undefined {
  return 'run_id' in event ? event.run_id : undefined;
}
