/**
 * Sends the outbox: a background worker that claims due deliveries and POSTs
 * them, a few at a time, off the path of runs and requests. A failed attempt
 * is retried with exponential backoff and full jitter, under the same
 * `webhook-id`, until the retry window (24 h from the delivery's creation, or
 * from its retry through the API) has passed; then it is marked failed and
 * logged once. Deliveries are claimed for a while before each attempt, so
 * with several instances each is sent by one at a time; a crash leaves the
 * claim to lapse and another attempt follows.
 */
import type { Logger } from 'pino';
import type { DeliveryRecord, WebhookOutbox } from '../storage/store.js';
import { WebhookSender } from './send.js';
import { shownUrl } from './urls.js';

export type DeliveryResult = 'delivered' | 'retried' | 'failed';

/** How deliveries are sent; the defaults suit production, tests shrink the times. */
export interface WebhookTuning {
  /** How long one attempt may wait for the receiver's answer. Default 10 s. */
  timeoutMs?: number;
  /** How long after its creation a delivery is retried before it is marked failed. Default 24 h. */
  retryWindowMs?: number;
  /** The first retry waits up to this; each next one up to twice as long. Default 1 s. */
  backoffBaseMs?: number;
  /** The longest wait between attempts. Default 1 h. */
  backoffCapMs?: number;
  /** How often the outbox is checked for due deliveries (a commit with deliveries wakes it at once). Default 1 s. */
  pollIntervalMs?: number;
  /** Attempts in flight at once. Default 16. */
  concurrency?: number;
  /** Settled deliveries are purged after this long. Default 7 days. */
  keepSettledMs?: number;
  /** The clock, in milliseconds. Default `Date.now`. */
  now?: () => number;
  /** A number in [0, 1) for the jitter. Default `Math.random`. */
  random?: () => number;
}

export interface DispatcherOptions extends WebhookTuning {
  outbox: WebhookOutbox;
  /** The receivers configured now; a stored delivery to any other URL is not sent, but marked failed. */
  urls: readonly string[];
  secret: string;
  /** This instance, as the owner of its claims. */
  owner: string;
  logger: Logger;
}

const HOUR = 60 * 60 * 1000;
const PURGE_BATCH = 1_000;

export class WebhookDispatcher {
  private readonly sender: WebhookSender;
  private readonly urls: ReadonlySet<string>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly tuning: Required<Omit<WebhookTuning, 'now' | 'random'>>;
  /** Attempts in flight, each settling its delivery. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Deliveries this instance is attempting: one whose claim lapsed while its result was being recorded is not sent again beside it. */
  private readonly sending = new Set<string>();
  private readonly stopping = new AbortController();
  private timers: NodeJS.Timeout[] = [];
  private pumping: Promise<void> | null = null;
  private purging: Promise<void> | null = null;
  private wokenWhilePumping = false;
  /** Wakes before `start` wait for it: it looks at the outbox first thing. */
  private started = false;
  private onResult: (result: DeliveryResult) => void = () => undefined;
  private outboxFailing = false;

  constructor(private readonly options: DispatcherOptions) {
    this.tuning = {
      timeoutMs: options.timeoutMs ?? 10_000,
      retryWindowMs: options.retryWindowMs ?? 24 * HOUR,
      backoffBaseMs: options.backoffBaseMs ?? 1_000,
      backoffCapMs: options.backoffCapMs ?? HOUR,
      pollIntervalMs: options.pollIntervalMs ?? 1_000,
      concurrency: options.concurrency ?? 16,
      keepSettledMs: options.keepSettledMs ?? 7 * 24 * HOUR,
    };
    this.sender = new WebhookSender(options.secret, this.tuning.timeoutMs);
    this.urls = new Set(options.urls);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** A claim covers one attempt and the time to record its result. */
  private get claimMs(): number {
    return this.tuning.timeoutMs + 5_000;
  }

  /** Starts sending; `onResult` hears of every settled attempt (for metrics). */
  start(onResult?: (result: DeliveryResult) => void): void {
    if (onResult) this.onResult = onResult;
    this.started = true;
    const poll = setInterval(() => this.wake(), this.tuning.pollIntervalMs);
    const purge = setInterval(() => this.purge(), HOUR);
    this.timers = [poll, purge];
    for (const timer of this.timers) timer.unref();
    this.wake();
    this.purge();
  }

  /** Looks for due deliveries now: after a commit wrote some, or an attempt freed a place. */
  wake(): void {
    if (!this.started || this.stopping.signal.aborted) return;
    if (this.pumping) {
      this.wokenWhilePumping = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      if (this.wokenWhilePumping) {
        this.wokenWhilePumping = false;
        this.wake();
      }
    });
  }

  /** Cuts attempts in flight short (each is due again at once) and waits until every one is recorded. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.stopping.abort();
    await Promise.all([this.pumping, this.purging]);
    await Promise.allSettled([...this.inFlight]);
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        const free = this.tuning.concurrency - this.inFlight.size;
        if (free <= 0 || this.stopping.signal.aborted) return;
        const claimed = await this.options.outbox.claimDeliveries({ owner: this.options.owner, now: this.iso(), limit: free, claimMs: this.claimMs });
        this.outboxAnswers();
        for (const delivery of claimed) {
          if (this.sending.has(delivery.id)) continue;
          this.sending.add(delivery.id);
          const attempt = this.attempt(delivery).finally(() => {
            this.sending.delete(delivery.id);
            this.inFlight.delete(attempt);
            this.wake();
          });
          this.inFlight.add(attempt);
        }
        if (claimed.length < free) return;
      }
    } catch (err) {
      this.outboxFails(err);
    }
  }

  private async attempt(delivery: DeliveryRecord): Promise<void> {
    const { outbox, owner } = this.options;
    const configured = this.urls.has(delivery.url);
    const result = configured
      ? await this.sender.send(delivery, new Date(this.now()), this.stopping.signal)
      : { delivered: false as const, error: 'its URL is no longer configured' };
    const at = this.now();
    try {
      if (result.delivered) {
        if (await outbox.markDelivered(delivery.id, owner, this.iso(at))) this.onResult('delivered');
        return;
      }
      // A shutdown is not the receiver's fault: due again at once, at the next start.
      if (this.stopping.signal.aborted) {
        await outbox.scheduleRetry(delivery.id, owner, this.iso(at), result.error);
        return;
      }
      const deadline = Date.parse(delivery.retriedAt ?? delivery.createdAt) + this.tuning.retryWindowMs;
      if (!configured || at >= deadline) {
        if (await outbox.markFailed(delivery.id, owner, this.iso(at), result.error)) this.failed(delivery, result.error);
        return;
      }
      const next = this.iso(at + this.backoff(delivery.attempts));
      if (await outbox.scheduleRetry(delivery.id, owner, next, result.error)) {
        this.onResult('retried');
        this.options.logger.debug({ delivery_id: delivery.id, attempts: delivery.attempts, error: result.error, next_attempt_at: next }, 'webhook attempt failed; retrying');
      }
    } catch (err) {
      // Not recorded: the claim lapses, and the delivery is attempted again.
      this.outboxFails(err);
    }
  }

  /** Full jitter: anywhere from nothing to base × 2^(attempt − 1), capped. */
  private backoff(attempts: number): number {
    const ceiling = Math.min(this.tuning.backoffCapMs, this.tuning.backoffBaseMs * 2 ** Math.max(0, attempts - 1));
    return Math.floor(this.random() * ceiling);
  }

  private failed(delivery: DeliveryRecord, error: string): void {
    this.onResult('failed');
    this.options.logger.warn(
      { delivery_id: delivery.id, session_id: delivery.sessionId, run_id: delivery.runId, type: delivery.type, url: shownUrl(delivery.url), attempts: delivery.attempts, error },
      'webhook delivery failed; it is listed at GET /api/v1/webhooks/deliveries?status=failed and can be retried',
    );
  }

  /** Settled deliveries are kept a week for the API's list, then deleted in batches. */
  private purge(): void {
    this.purging ??= (async () => {
      const before = this.iso(this.now() - this.tuning.keepSettledMs);
      try {
        let deleted = PURGE_BATCH;
        while (deleted === PURGE_BATCH && !this.stopping.signal.aborted) deleted = await this.options.outbox.purgeDeliveries(before, PURGE_BATCH);
      } catch (err) {
        this.outboxFails(err);
      }
    })().finally(() => (this.purging = null));
  }

  /** Told once per incident, like storage's: the first failure, then the recovery. */
  private outboxFails(err: unknown): void {
    if (this.outboxFailing) return;
    this.outboxFailing = true;
    this.options.logger.warn({ err }, 'the webhook outbox cannot be read or written; deliveries wait until it can');
  }

  private outboxAnswers(): void {
    if (!this.outboxFailing) return;
    this.outboxFailing = false;
    this.options.logger.info('the webhook outbox answers again; deliveries go on');
  }

  private iso(ms = this.now()): string {
    return new Date(ms).toISOString();
  }
}
