/** The API's resources as zod schemas: the session object and what it holds, and messages. */
import { z } from 'zod';
import { SESSION_STATES, type LastRun, type Message, type Question, type QueuedMessage, type SessionView, type ToolCall } from '../../domain/types.js';
import { type Assert, field, named, type Same } from './registry.js';

export const RUN_STATUSES = ['running', 'completed', 'awaiting_user', 'cancelled', 'failed', 'interrupted'] as const;

/** ISO 8601 in UTC, with milliseconds. */
export const timestamp = () => z.iso.datetime();
export const count = () => z.number().int().nonnegative();
export const sessionId = () => field('The session id, `ses_…`.', z.string().regex(/^ses_/));
export const runId = () => field('The run id, `run_…`.', z.string().regex(/^run_/));

export const sessionState = named('SessionState', 'The session statechart state.', z.enum(SESSION_STATES));

export const toolCall = named(
  'ToolCall',
  'A tool call an assistant message asks for.',
  z.strictObject({
    id: z.string(),
    name: z.string(),
    arguments: field('The arguments as JSON text, exactly as the model produced them.', z.string()),
  }),
);

export const message = named(
  'Message',
  'One entry of the transcript.',
  z.strictObject({
    id: field('The message id, `msg_…`.', z.string().regex(/^msg_/)),
    role: field('`user`: a user turn; `assistant`: an agent reply; `tool`: a tool result or the answer to a question.', z.enum(['user', 'assistant', 'tool'])),
    content: z.string(),
    created_at: timestamp(),
    run_id: field('The run that produced the message; absent on user turns and answers.', runId().optional()),
    tool_call_id: field('On `tool` messages: the tool call, or the question, this answers.', z.string().optional()),
    tool_calls: field('On `assistant` messages that call tools.', z.array(toolCall).optional()),
    interrupted: field('On an `assistant` message cut short: what a run had said when a new message interrupted it.', z.boolean().optional()),
  }),
);

export const queuedMessage = named(
  'QueuedMessage',
  'A user message waiting for the session to be free (`multitask_strategy: enqueue`).',
  z.strictObject({ id: field('The message id it will have in the transcript.', z.string().regex(/^msg_/)), content: z.string(), created_at: timestamp() }),
);

export const question = named(
  'Question',
  'A question the agent asks the user; the run ends and the session waits in `awaitingUser`.',
  z.strictObject({
    id: field('The question id (`q_…` unless the agent chose one); `/respond` names it.', z.string()),
    text: z.string(),
    options: field('The answers to choose from; absent when any answer will do.', z.array(z.string()).optional()),
    allow_custom: field('Whether an answer other than the options is accepted; always true without options.', z.boolean()),
    asked_at: timestamp(),
  }),
);

export const lastRun = named(
  'LastRun',
  'The latest run of a session, running or ended.',
  z.strictObject({
    id: runId(),
    status: field('How the run stands or ended.', z.enum(RUN_STATUSES)),
    error: field('Why the run failed; only with `status: failed`.', z.string().optional()),
    started_at: timestamp(),
    ended_at: field('Null while the run is active.', timestamp().nullable()),
  }),
);

export const session = named(
  'Session',
  'A session: its attributes, the state of its statechart, and where its log stands.',
  z.strictObject({
    id: sessionId(),
    title: z.string().nullable(),
    agent: field('The agent that runs the session.', z.string()),
    metadata: field('What the client stored at creation, as given.', z.record(z.string(), z.unknown())),
    created_at: timestamp(),
    state: sessionState,
    run_id: field('The active run; null unless `state` is `running`.', runId().nullable()),
    last_run: lastRun.nullable(),
    pending_question: field('The open question; null unless `state` is `awaitingUser`.', question.nullable()),
    has_pending_work: field('A user turn (or an answer) waits for a run: `resume` would start one.', z.boolean()),
    queued: field('Messages waiting for the session to be free, in the order they will run.', z.array(queuedMessage)),
    message_count: count(),
    last_event_seq: field('The `seq` of the latest event in the session log.', count()),
    version: field('Grows with every change of the session; also sent as the `ETag`.', count()),
    updated_at: timestamp(),
  }),
);

// The schemas must describe exactly what the server sends.
export type SessionMatches = Assert<Same<z.output<typeof session>, SessionView>>;
export type MessageMatches = Assert<Same<z.output<typeof message>, Message>>;
export type ToolCallMatches = Assert<Same<z.output<typeof toolCall>, ToolCall>>;
export type QuestionMatches = Assert<Same<z.output<typeof question>, Question>>;
export type LastRunMatches = Assert<Same<z.output<typeof lastRun>, LastRun>>;
export type QueuedMessageMatches = Assert<Same<z.output<typeof queuedMessage>, QueuedMessage>>;
