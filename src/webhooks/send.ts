/**
 * One attempt: the delivery's body POSTed to its receiver, signed per the
 * Standard Webhooks spec (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature: v1,…`). A 2xx answer delivers it; anything else, no
 * answer in time or no connection is a failed attempt. Redirects are not
 * followed: a receiver may not send us to a URL the operator did not configure.
 */
import { Webhook } from 'standardwebhooks';
import type { DeliveryRecord } from '../storage/store.js';
import { requestTarget, shownUrl } from './urls.js';

export type AttemptResult = { delivered: true } | { delivered: false; error: string };

export class WebhookSender {
  private readonly signer: Webhook;

  constructor(
    secret: string,
    private readonly timeoutMs: number,
  ) {
    this.signer = new Webhook(secret);
  }

  /** Never throws; `stop` aborts the attempt (a shutdown). */
  async send(delivery: Pick<DeliveryRecord, 'id' | 'url' | 'payload'>, at: Date, stop: AbortSignal): Promise<AttemptResult> {
    try {
      const target = requestTarget(delivery.url);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'bamboo-server',
        'webhook-id': delivery.id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': this.signer.sign(delivery.id, at, delivery.payload),
      };
      if (target.authorization) headers.authorization = target.authorization;
      const response = await fetch(target.url, {
        method: 'POST',
        headers,
        body: delivery.payload,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.timeoutMs), stop]),
      });
      // The answer's body says nothing we use; it must not hold the connection.
      await response.body?.cancel().catch(() => undefined);
      return response.status >= 200 && response.status < 300 ? { delivered: true } : { delivered: false, error: `HTTP ${response.status}` };
    } catch (error) {
      return { delivered: false, error: this.describe(error) };
    }
  }

  /** Why an attempt failed, for the deliveries' list and the log: never the URL's credentials or query. */
  private describe(error: unknown): string {
    const { name, message, cause } = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    if (name === 'TimeoutError') return `no answer within ${this.timeoutMs} ms`;
    if (name === 'AbortError') return 'cut off by a shutdown';
    const text = cause?.code ?? cause?.message ?? message ?? String(error);
    return text.replace(/https?:\/\/\S+/g, (url) => shownUrl(url));
  }
}
