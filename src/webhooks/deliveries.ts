/** The API's side of the outbox: a tenant lists its deliveries and retries a failed one. */
import { SessionError } from '../domain/errors.js';
import type { DeliveryStatus, DeliveryView, WebhookBody } from '../domain/webhooks.js';
import type { DeliveryRecord, WebhookOutbox } from '../storage/store.js';
import { shownUrl } from './urls.js';

export class WebhookDeliveries {
  constructor(
    private readonly outbox: WebhookOutbox,
    /** The dispatcher, when webhooks are on: woken so a retried delivery goes out at once. Without one, nothing is sent, so a retry is refused. */
    private readonly dispatcher?: { wake(): void },
    private readonly now: () => number = Date.now,
  ) {}

  async list(tenant: string, query: { status?: DeliveryStatus; limit: number; cursor?: string }): Promise<{ deliveries: DeliveryView[]; next_cursor: string | null }> {
    const page = await this.outbox.listDeliveries({ tenant, ...query });
    return { deliveries: page.items.map(deliveryView), next_cursor: page.nextCursor };
  }

  async get(tenant: string, id: string): Promise<DeliveryView> {
    const found = await this.outbox.findDelivery(tenant, id);
    if (!found) throw notFound(id);
    return deliveryView(found);
  }

  /** The failed delivery, pending again and due now: the retry window starts over. */
  async retry(tenant: string, id: string): Promise<DeliveryView> {
    if (!this.dispatcher) return this.refuseRetry(tenant, id);
    const result = await this.outbox.retryDelivery(tenant, id, new Date(this.now()).toISOString());
    if (!result) throw notFound(id);
    if (result.outcome === 'not_failed') throw notFailed(result.delivery);
    this.dispatcher.wake();
    return deliveryView(result.delivery);
  }

  /** Without a dispatcher nothing would be sent: the delivery is left as it is, and the answer says why. */
  private async refuseRetry(tenant: string, id: string): Promise<never> {
    const found = await this.outbox.findDelivery(tenant, id);
    if (!found) throw notFound(id);
    if (found.status !== 'failed') throw notFailed(found);
    throw new SessionError('webhooks_disabled', 'This server sends no webhooks (BAMBOO_WEBHOOK_URL is not set): the delivery stays failed; retry it once webhooks are configured');
  }
}

function notFound(id: string): SessionError {
  return new SessionError('delivery_not_found', `No webhook delivery with id ${id}`);
}

function notFailed(delivery: DeliveryRecord): SessionError {
  return new SessionError('delivery_not_failed', `Delivery ${delivery.id} is ${delivery.status}; only a failed delivery is retried`);
}

export function deliveryView(record: DeliveryRecord): DeliveryView {
  return {
    id: record.id,
    type: record.type,
    session_id: record.sessionId,
    run_id: record.runId,
    url: shownUrl(record.url),
    status: record.status,
    attempts: record.attempts,
    created_at: record.createdAt,
    next_attempt_at: record.status === 'pending' ? record.nextAttemptAt : null,
    finished_at: record.finishedAt,
    last_error: record.lastError,
    body: JSON.parse(record.payload) as WebhookBody,
  };
}
