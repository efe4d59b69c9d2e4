/** Response bodies: the envelopes around the resources, pages, command outcomes, errors, and the service answers. */
import { z } from 'zod';
import type { MachineJson, StateJson, TransitionJson } from '../../diagrams/machine-json.js';
import type { ErrorCode } from '../../domain/errors.js';
import type { OutcomeName } from '../../domain/outcomes.js';
import { storedEvent } from './events.js';
import { type Assert, field, named, type Same } from './registry.js';
import { count, message, runId, session } from './resources.js';

/** Every error code, in the order the API reference lists them. */
export const ERROR_CODES = [
  'invalid_request',
  'invalid_answer',
  'unauthorized',
  'origin_not_allowed',
  'host_not_allowed',
  'not_found',
  'session_not_found',
  'method_not_allowed',
  'session_busy',
  'question_pending',
  'no_pending_question',
  'question_mismatch',
  'not_running',
  'queue_full',
  'queued_message_not_found',
  'delivery_not_found',
  'delivery_not_failed',
  'webhooks_disabled',
  'idempotency_conflict',
  'rate_limited',
  'too_many_runs',
  'too_many_streams',
  'quota_exceeded',
  'payload_too_large',
  'unsupported_media_type',
  'request_timeout',
  'headers_too_large',
  'internal',
  'unavailable',
  'insufficient_storage',
] as const satisfies readonly ErrorCode[];
export type ErrorCodesListed = Assert<Same<(typeof ERROR_CODES)[number], ErrorCode>>;

export const errorInfo = named(
  'ErrorInfo',
  'What went wrong: a stable `code`, a readable `message`, and for some codes a field that helps to go on.',
  z.strictObject({
    code: field('Stable; branch on this, not on the message.', z.enum(ERROR_CODES)),
    message: field('For people; may change between versions.', z.string().min(1)),
    run_id: field('`session_busy`: the active run.', runId().optional()),
    question_id: field('`question_pending`: the open question.', z.string().optional()),
    options: field('`invalid_answer`: the answers the question accepts.', z.array(z.string()).optional()),
    instance: field('`unavailable` from `/readyz`: this server instance.', z.string().optional()),
    limit: field('`rate_limited`, `too_many_runs`, `too_many_streams`, `quota_exceeded`, `queue_full`, `unavailable` (streams): the limit reached.', z.number().int().optional()),
    scope: field('`too_many_streams`: which limit, `tenant`, `session` or `client`.', z.enum(['tenant', 'session', 'client']).optional()),
    quota: field('`quota_exceeded`: which quota, `sessions` or `bytes`.', z.enum(['sessions', 'bytes']).optional()),
  }),
);
export const errorEnvelope = named('Error', 'Every error response.', z.strictObject({ error: errorInfo }));

const eventsUrl = field('The session event stream from just before the run, so a client that opens it misses nothing.', z.string());

export const started = named('Started', 'A run started.', z.strictObject({ outcome: z.literal('Started'), run_id: runId(), events_url: eventsUrl }));
export const alreadyRunning = named('AlreadyRunning', 'A run is already active; no other was started.', z.strictObject({ outcome: z.literal('AlreadyRunning'), run_id: runId() }));
export const completed = named('Completed', 'Nothing to run: no user turn waits, or a question waits for its answer.', z.strictObject({ outcome: z.literal('Completed') }));
export const cancelled = named('Cancelled', 'The active run was cancelled.', z.strictObject({ outcome: z.literal('Cancelled'), run_id: runId() }));
export const notFound = named('NotFound', '`resume` on a session that does not exist.', z.strictObject({ outcome: z.literal('NotFound'), error: errorInfo }));
export const noRunStarted = named('ResumeAnswered', '`resume` that started nothing.', z.discriminatedUnion('outcome', [alreadyRunning, completed]));
export const replayedAnswer = named(
  'AnswerReplayed',
  'The same answer again: nothing changes; the outcome says how the session stands.',
  z.discriminatedUnion('outcome', [alreadyRunning.extend({ replayed: z.literal(true) }), completed.extend({ replayed: z.literal(true) })]),
);
export type OutcomesListed = Assert<Same<'NotFound' | 'Completed' | 'AlreadyRunning' | 'Started' | 'Cancelled' | 'Queued', OutcomeName>>;

export const messageStarted = named('MessageStarted', 'The message was stored and started a run.', started.extend({ message }));
export const messageQueued = named(
  'MessageQueued',
  'The session is busy: the message waits its turn (`multitask_strategy: enqueue`).',
  z.strictObject({ message, outcome: z.literal('Queued'), position: field('Its place in the queue, from 1.', count()) }),
);
export const messageAccepted = named(
  'MessageAccepted',
  'The message started a run, or (`enqueue` while busy) waits its turn.',
  z.discriminatedUnion('outcome', [messageStarted, messageQueued]),
);
export const messageStored = named('MessageStored', 'The message was stored; no run was started (`resume: false`).', z.strictObject({ message, outcome: z.null() }));

export const sessionEnvelope = named('SessionResponse', 'One session.', z.strictObject({ session }));
const nextCursor = field('Pass as the cursor for the next page; null on the last page.', z.string().nullable());
export const sessionPage = named('SessionPage', 'Sessions, newest first.', z.strictObject({ sessions: z.array(session), next_cursor: nextCursor }));
export const messagePage = named('MessagePage', 'Messages, oldest first.', z.strictObject({ messages: z.array(message), next_cursor: nextCursor }));
export const eventPage = named(
  'EventPage',
  'Events in `seq` order.',
  z.strictObject({ events: z.array(storedEvent), next_after: field('The last `seq` of this page (or `after` when it is empty): pass as `after` for the next page.', count()) }),
);

const transition = z.strictObject({
  event: z.string(),
  label: z.string(),
  target: z.string().nullable(),
  guard: z.string().nullable(),
  actions: z.array(z.string()),
});
const stateNode = named(
  'MachineState',
  'A state of the statechart, its transitions in priority order, and its child states.',
  z.strictObject({
    key: z.string(),
    path: z.string(),
    type: z.string(),
    initial: z.string().nullable(),
    invoke: z.array(z.strictObject({ id: z.string(), src: z.string() })),
    transitions: z.array(transition),
    get states(): z.ZodArray<typeof stateNode> {
      return z.array(stateNode);
    },
  }),
);
export const machine = named(
  'Machine',
  'The session statechart as data, and as a Mermaid `stateDiagram-v2`.',
  z.strictObject({
    machine: z.strictObject({ id: z.string(), initial: z.string().nullable(), states: z.array(stateNode), events: z.array(z.string()) }),
    mermaid: z.string(),
  }),
);
export type MachineMatches = Assert<Same<z.output<typeof machine>['machine'], MachineJson>>;
export type StateMatches = Assert<Same<z.output<typeof stateNode>, StateJson>>;
export type TransitionMatches = Assert<Same<z.output<typeof transition>, TransitionJson>>;

export const health = named('Health', 'The process answers.', z.strictObject({ ok: z.literal(true) }));
export const ready = named('Ready', 'Storage answers.', z.strictObject({ ok: z.literal(true), instance: field('This server instance.', z.string()) }));
export const openapiDocument = named(
  'OpenApiDocument',
  'This document.',
  z.looseObject({ openapi: z.literal('3.1.0'), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) }),
);
