/**
 * The webhook outbox in PostgreSQL. Several instances dispatch from one
 * database: a claim is one conditional UPDATE over rows locked with
 * `FOR UPDATE SKIP LOCKED`, so two instances never take the same delivery
 * while its claim lasts, and only the claim's owner settles it.
 */
import type pg from 'pg';
import type { DeliveryRow } from '../sqlite/records.js';
import { toDelivery } from '../sqlite/records.js';
import type { DeliveryQuery, DeliveryRecord, Page, RetryOutcome, WebhookDelivery } from '../store.js';

const COLUMNS = `ordinal::text AS ordinal, id, tenant, session_id, run_id, type, url, payload, created_at, status, attempts,
  next_attempt_at, last_error, finished_at, retried_at`;

export const OUTBOX_SQL = {
  claimDeliveries: `UPDATE webhook_deliveries SET claim_owner = $1, claim_expires_at = $2, attempts = attempts + 1
      WHERE ordinal IN (
        SELECT ordinal FROM webhook_deliveries
        WHERE status = 'pending' AND next_attempt_at <= $3 AND (claim_expires_at IS NULL OR claim_expires_at <= $3)
        ORDER BY next_attempt_at, ordinal LIMIT $4 FOR UPDATE SKIP LOCKED)
      RETURNING ${COLUMNS}`,
  markDelivered: `UPDATE webhook_deliveries SET status = 'delivered', finished_at = $3, claim_owner = NULL, claim_expires_at = NULL
      WHERE id = $1 AND status = 'pending' AND claim_owner = $2`,
  scheduleRetry: `UPDATE webhook_deliveries SET next_attempt_at = $3, last_error = $4, claim_owner = NULL, claim_expires_at = NULL
      WHERE id = $1 AND status = 'pending' AND claim_owner = $2`,
  markFailed: `UPDATE webhook_deliveries SET status = 'failed', finished_at = $3, last_error = $4, claim_owner = NULL, claim_expires_at = NULL
      WHERE id = $1 AND status = 'pending' AND claim_owner = $2`,
  listDeliveries: `SELECT ${COLUMNS} FROM webhook_deliveries WHERE tenant = $1 AND ordinal < $2 ORDER BY ordinal DESC LIMIT $3`,
  listDeliveriesByStatus: `SELECT ${COLUMNS} FROM webhook_deliveries WHERE tenant = $1 AND status = $4 AND ordinal < $2 ORDER BY ordinal DESC LIMIT $3`,
  findDelivery: `SELECT ${COLUMNS} FROM webhook_deliveries WHERE id = $2 AND tenant = $1`,
  /** A failed delivery back to pending, or, when it is not failed, the delivery as it is (`retried` says which). */
  retryDelivery: `WITH again AS (
        UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $3, retried_at = $3, finished_at = NULL,
          claim_owner = NULL, claim_expires_at = NULL
        WHERE id = $2 AND tenant = $1 AND status = 'failed' RETURNING ${COLUMNS}
      )
      SELECT *, true AS retried FROM again
      UNION ALL
      SELECT ${COLUMNS}, false AS retried FROM webhook_deliveries WHERE id = $2 AND tenant = $1 AND NOT EXISTS (SELECT 1 FROM again)`,
  countPendingDeliveries: `SELECT count(*)::integer AS n FROM webhook_deliveries WHERE status = 'pending'`,
  purgeDeliveries: `DELETE FROM webhook_deliveries WHERE ordinal IN (
        SELECT ordinal FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < $1 LIMIT $2)`,
} as const;

export type OutboxStatement = keyof typeof OUTBOX_SQL;
type Run = <R extends pg.QueryResultRow>(name: OutboxStatement, values: unknown[]) => Promise<pg.QueryResult<R>>;

/** bigint ordinals arrive as text; a cursor is one of them. */
type Row = Omit<DeliveryRow, 'ordinal'> & { ordinal: string };
const CURSOR = /^\d{1,18}$/;

function record(row: Row): DeliveryRecord {
  return toDelivery({ ...row, ordinal: Number(row.ordinal) });
}

/** The deliveries of one commit, as the commit statement's JSON parameter. */
export function deliveriesJson(deliveries: readonly WebhookDelivery[]): string {
  return JSON.stringify(
    deliveries.map((d) => ({ id: d.id, tenant: d.tenant, session_id: d.sessionId, run_id: d.runId, type: d.type, url: d.url, payload: d.payload, created_at: d.createdAt })),
  );
}

export class PgOutbox {
  constructor(private readonly run: Run) {}

  async claim({ owner, now, limit, claimMs }: { owner: string; now: string; limit: number; claimMs: number }): Promise<DeliveryRecord[]> {
    if (limit <= 0) return [];
    const until = new Date(Date.parse(now) + claimMs).toISOString();
    const { rows } = await this.run<Row>('claimDeliveries', [owner, until, now, limit]);
    // RETURNING gives no order; the port promises the due ones first.
    rows.sort((a, b) => (a.next_attempt_at < b.next_attempt_at ? -1 : a.next_attempt_at > b.next_attempt_at ? 1 : Number(a.ordinal) - Number(b.ordinal)));
    return rows.map(record);
  }

  async markDelivered(id: string, owner: string, at: string): Promise<boolean> {
    return ((await this.run('markDelivered', [id, owner, at])).rowCount ?? 0) === 1;
  }

  async scheduleRetry(id: string, owner: string, next: string, error: string): Promise<boolean> {
    return ((await this.run('scheduleRetry', [id, owner, next, error])).rowCount ?? 0) === 1;
  }

  async markFailed(id: string, owner: string, at: string, error: string): Promise<boolean> {
    return ((await this.run('markFailed', [id, owner, at, error])).rowCount ?? 0) === 1;
  }

  async list({ tenant, status, limit, cursor }: DeliveryQuery): Promise<Page<DeliveryRecord>> {
    if (cursor !== undefined && !CURSOR.test(cursor)) return { items: [], nextCursor: null };
    const before = cursor ?? '9223372036854775807';
    const { rows } = status
      ? await this.run<Row>('listDeliveriesByStatus', [tenant, before, limit + 1, status])
      : await this.run<Row>('listDeliveries', [tenant, before, limit + 1]);
    const page = rows.slice(0, limit);
    return { items: page.map(record), nextCursor: rows.length > limit ? page.at(-1)!.ordinal : null };
  }

  async find(tenant: string, id: string): Promise<DeliveryRecord | null> {
    const [row] = (await this.run<Row>('findDelivery', [tenant, id])).rows;
    return row ? record(row) : null;
  }

  async retry(tenant: string, id: string, now: string): Promise<RetryOutcome | null> {
    const { rows } = await this.run<Row & { retried: boolean }>('retryDelivery', [tenant, id, now]);
    const [row] = rows;
    if (!row) return null;
    const { retried, ...delivery } = row;
    return { outcome: retried ? 'retried' : 'not_failed', delivery: record(delivery) };
  }

  async countPending(): Promise<number> {
    return (await this.run<{ n: number }>('countPendingDeliveries', [])).rows[0]?.n ?? 0;
  }

  async purge(before: string, limit: number): Promise<number> {
    return (await this.run('purgeDeliveries', [before, limit])).rowCount ?? 0;
  }
}
