/**
 * The session log's events as zod schemas: one variant per event type, a
 * union discriminated on `type`. Type-checked against the domain's `LogEvent`,
 * variant by variant.
 */
import { z } from 'zod';
import { EVENT_TYPES, type EventType, type SessionEvent } from '../../domain/events.js';
import { type Assert, field, named, type Same } from './registry.js';
import { count, message, question, runId, sessionId, sessionState, timestamp } from './resources.js';

const numbered = {
  seq: field('Position in the session log: 1, 2, 3… with no gap; also the SSE `id`.', count()),
  session_id: sessionId(),
};

function variant<T extends EventType, S extends z.ZodRawShape>(type: T, description: string, shape: S) {
  const id = `${type.split('_').map((word) => word[0].toUpperCase() + word.slice(1)).join('')}Event`;
  return named(id, description, z.strictObject({ ...numbered, type: z.literal(type), at: timestamp(), ...shape }));
}

const inRun = { run_id: runId() };

export const sessionCreated = variant('session_created', 'The session was created; always `seq` 1.', {});
export const messageAppended = variant('message_appended', 'A message joined the transcript: a user turn, an answer, a tool result or an agent reply.', {
  run_id: field('The run that produced the message, if a run did.', runId().optional()),
  message,
});
export const stateChanged = variant('state_changed', 'The statechart moved; follows the event that caused it.', { from: sessionState, to: sessionState });
export const runStarted = variant('run_started', 'A run started.', inRun);
export const token = variant('token', 'A piece of the reply as it streams; the reply is also stored as a `message_appended`.', { ...inRun, text: z.string() });
export const toolStarted = variant('tool_started', 'The agent called a tool.', {
  ...inRun,
  tool_call_id: z.string(),
  name: z.string(),
  arguments: field('JSON text, as the model produced it.', z.string()),
});
export const toolCompleted = variant('tool_completed', 'A tool call returned.', { ...inRun, tool_call_id: z.string(), result: z.string() });
export const questionAsked = variant('question_asked', 'The run ended with a question for the user; the session now waits.', { ...inRun, question });
export const questionAnswered = variant('question_answered', 'The open question was answered through `/respond`.', { question_id: z.string(), answer: z.string() });
export const questionWithdrawn = variant('question_withdrawn', 'The open question was set aside for a new message (`interrupt`, `rollback`).', { question_id: z.string() });
export const messageQueued = variant('message_queued', 'A message waits for the session to be free; `position` counts from 1.', { message, position: count() });
export const messageDequeued = variant('message_dequeued', 'A queued message was removed before it ran.', { message_id: z.string() });
export const messagesRemoved = variant('messages_removed', 'Messages left the transcript (`rollback`); the log keeps every event.', { message_ids: z.array(z.string()) });
export const runCompleted = variant('run_completed', 'The run ended with a reply.', inRun);
export const runFailed = variant('run_failed', 'The run failed; its user turn is kept, so `resume` retries it.', { ...inRun, error: z.string() });
export const runCancelled = variant('run_cancelled', 'The run was cancelled; its user turn is kept.', inRun);
export const runInterrupted = variant('run_interrupted', 'The run was cut off by a shutdown or a crash; its user turn is kept.', inRun);
export const sessionDeleted = variant('session_deleted', 'Sent to open streams as the session is deleted; never stored. The stream ends after it.', {});

const stored = [
  sessionCreated,
  messageAppended,
  stateChanged,
  runStarted,
  token,
  toolStarted,
  toolCompleted,
  questionAsked,
  questionAnswered,
  questionWithdrawn,
  messageQueued,
  messageDequeued,
  messagesRemoved,
  runCompleted,
  runFailed,
  runCancelled,
  runInterrupted,
] as const;

/** What the log keeps and JSON pages return. */
export const storedEvent = named('StoredEvent', 'An event of the session log.', z.discriminatedUnion('type', [...stored]));
/** What a stream sends: the log's events, and `session_deleted` at the end. */
export const event = named('Event', 'An event as a stream sends it: any stored event, or `session_deleted`.', z.discriminatedUnion('type', [...stored, sessionDeleted]));

/** Every event type has its variant, in the order `EVENT_TYPES` lists them. */
export const EVENT_VARIANTS = [...stored, sessionDeleted];

type Variant<T extends EventType> = Extract<z.output<typeof event>, { type: T }>;
type Domain<T extends EventType> = Extract<SessionEvent, { type: T }>;
type Mismatched = { [T in EventType]: Same<Variant<T>, Domain<T>> extends true ? never : T }[EventType];
// A variant that differs from the domain's event names its type here.
export type EventsMatch = Assert<[Mismatched] extends [never] ? true : false>;
export type EventTypesListed = Assert<Same<(typeof EVENT_TYPES)[number], EventType>>;
