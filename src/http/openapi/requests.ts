/**
 * Names and field descriptions for the request schemas of `validation.ts`,
 * which stays the one place requests are validated: the document describes
 * those very schemas. Every field must be described, so a field added there
 * and not here fails type-checking.
 */
import type { z } from 'zod';
import { appendMessageBody, createSessionBody, emptyBody, eventsQuery, idempotencyKey, lastEventId, listMessagesQuery, listSessionsQuery, respondBody } from '../validation.js';
import { requestSchemas } from './registry.js';

function describeFields<S extends z.ZodObject>(schema: S, meta: { id?: string; description?: string }, fields: { [K in keyof S['shape']]: string }): S {
  requestSchemas.add(schema, meta);
  for (const [name, description] of Object.entries(fields)) requestSchemas.add(schema.shape[name], { description });
  return schema;
}

export const createSession = describeFields(
  createSessionBody,
  { id: 'CreateSessionRequest', description: 'A new session. Every field is optional; unknown fields are refused.' },
  {
    title: 'Shown in lists; up to 200 characters.',
    agent: 'The agent that runs the session; by default the server’s default agent (`demo` unless configured).',
    system_prompt: 'Instructions for the agent; kept server-side, never returned.',
    metadata: 'Any JSON object, at most 16 KiB as JSON; returned as given.',
  },
);

export const appendMessage = describeFields(
  appendMessageBody,
  { id: 'AppendMessageRequest', description: 'A user turn.' },
  {
    content: 'The message text.',
    resume: 'Start a run right away (the default); `false` only stores the message, and a later `resume` runs it (only with `reject`).',
    multitask_strategy:
      'What happens while a run is active or a question waits: `reject` (default, 409), `enqueue` (run it when the session is free), `interrupt` (cancel the run, keeping what it said, or withdraw the question, and run this now), `rollback` (the same, and remove the superseded turn from the transcript).',
  },
);

export const respond = describeFields(
  respondBody,
  { id: 'RespondRequest', description: 'The answer to the open question.' },
  {
    question_id: 'The open question’s `id`.',
    answer: 'One of the question’s `options`, or any text when `allow_custom` is true.',
  },
);

export const empty = describeFields(emptyBody, { id: 'EmptyRequest', description: 'No fields: send no body, or `{}`.' }, {});

export const sessionsQuery = describeFields(
  listSessionsQuery,
  {},
  {
    limit: 'Sessions per page; default 50.',
    cursor: 'The `next_cursor` of the previous page.',
    state: 'Only sessions in this state.',
  },
);

export const messagesQuery = describeFields(
  listMessagesQuery,
  {},
  {
    limit: 'Messages per page; default 100.',
    after: 'The `next_cursor` of the previous page.',
  },
);

export const eventQuery = describeFields(
  eventsQuery,
  {},
  {
    after: 'Only events with a greater `seq`. JSON: default 0. Stream: replay from here, then live; without it (and without `Last-Event-ID`) the stream is live only.',
    limit: 'JSON only: events per page; default 100. A stream is not paged.',
  },
);

requestSchemas.add(idempotencyKey, {
  description: 'Any string of 1 to 255 characters, unique per intended change (a UUID): a retry with the same key, method, path and body gets the first response again.',
});
requestSchemas.add(lastEventId, {
  description: 'The `seq` of the last event received: the stream replays what came after it, then goes live. Wins over `?after=`; a reconnecting `EventSource` sends it by itself.',
});

export { idempotencyKey, lastEventId };
