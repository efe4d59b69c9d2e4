/** Webhooks as zod schemas: the body receivers get, and the deliveries a tenant lists and retries. */
import { z } from 'zod';
import { DELIVERY_STATUSES, type DeliveryView, WEBHOOK_EVENT_TYPES, type WebhookBody } from '../../domain/webhooks.js';
import { type Assert, field, named, type Same } from './registry.js';
import { count, lastRun, question, runId, sessionId, sessionState, timestamp } from './resources.js';

export const webhookBody = named(
  'WebhookEvent',
  'The JSON body of every webhook request: a run ended. Sent with `webhook-id` (the delivery id, the same on every retry), `webhook-timestamp` and `webhook-signature` per the Standard Webhooks spec.',
  z.strictObject({
    type: field('How the run ended.', z.enum(WEBHOOK_EVENT_TYPES)),
    timestamp: field('When the run ended.', timestamp()),
    data: z.strictObject({
      session_id: sessionId(),
      run_id: runId(),
      // Named schemas keep their own descriptions: `field` would replace their names.
      state: sessionState,
      last_run: lastRun,
      question: field('`run.awaiting_user` only: the question the session waits on.', question.optional()),
      metadata: field('The session’s metadata, as its client stored it: for routing.', z.record(z.string(), z.unknown())),
    }),
  }),
);

export const delivery = named(
  'WebhookDelivery',
  'One run ending owed to one configured receiver, and where its delivery stands.',
  z.strictObject({
    id: field('The delivery id, `dlv_…`; also its `webhook-id`.', z.string().regex(/^dlv_/)),
    type: z.enum(WEBHOOK_EVENT_TYPES),
    session_id: sessionId(),
    run_id: runId(),
    url: field('The receiver, without credentials or query string.', z.string()),
    status: field('`pending`: waiting for an attempt, or in one; `delivered`: a receiver answered 2xx; `failed`: given up after the retry window.', z.enum(DELIVERY_STATUSES)),
    attempts: field('Attempts started since the delivery was created, or last retried.', count()),
    created_at: timestamp(),
    next_attempt_at: field('When the next attempt is due; null unless `pending`.', timestamp().nullable()),
    finished_at: field('When it was delivered or given up; null while `pending`.', timestamp().nullable()),
    last_error: field('Why the last attempt failed (`HTTP 500`, `ECONNREFUSED`, `no answer within 10000 ms`…).', z.string().nullable()),
    body: webhookBody,
  }),
);

export const deliveryPage = named(
  'WebhookDeliveryPage',
  'The tenant’s deliveries, newest first.',
  z.strictObject({ deliveries: z.array(delivery), next_cursor: field('Pass as the cursor for the next page; null on the last page.', z.string().nullable()) }),
);
export const deliveryEnvelope = named('WebhookDeliveryResponse', 'One delivery.', z.strictObject({ delivery }));

export type WebhookBodyMatches = Assert<Same<z.output<typeof webhookBody>, WebhookBody>>;
export type DeliveryMatches = Assert<Same<z.output<typeof delivery>, DeliveryView>>;
