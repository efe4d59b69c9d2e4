/**
 * The webhook outbox in SQLite: its statements and the port's methods, run
 * synchronously inside the store's transactions and error translation. One
 * SQLite file serves one process, but the claims follow the port's rules all
 * the same: each is a single conditional UPDATE.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { DeliveryQuery, DeliveryRecord, Page, RetryOutcome, WebhookDelivery } from '../store.js';
import { type DeliveryRow, toDelivery } from './records.js';

const COLUMNS = `ordinal, id, tenant, session_id, run_id, type, url, payload, created_at, status, attempts, next_attempt_at, last_error, finished_at, retried_at`;

const SQL = {
  insert: `INSERT INTO webhook_deliveries (id, tenant, session_id, run_id, type, url, payload, created_at, status, next_attempt_at)
      VALUES (@id, @tenant, @sessionId, @runId, @type, @url, @payload, @createdAt, 'pending', @createdAt)`,
  claim: `UPDATE webhook_deliveries SET claim_owner = @owner, claim_expires_at = @until, attempts = attempts + 1
      WHERE ordinal IN (
        SELECT ordinal FROM webhook_deliveries
        WHERE status = 'pending' AND next_attempt_at <= @now AND (claim_expires_at IS NULL OR claim_expires_at <= @now)
        ORDER BY next_attempt_at, ordinal LIMIT @limit)
      RETURNING ${COLUMNS}`,
  delivered: `UPDATE webhook_deliveries SET status = 'delivered', finished_at = @at, claim_owner = NULL, claim_expires_at = NULL
      WHERE id = @id AND status = 'pending' AND claim_owner = @owner`,
  retry: `UPDATE webhook_deliveries SET next_attempt_at = @next, last_error = @error, claim_owner = NULL, claim_expires_at = NULL
      WHERE id = @id AND status = 'pending' AND claim_owner = @owner`,
  failed: `UPDATE webhook_deliveries SET status = 'failed', finished_at = @at, last_error = @error, claim_owner = NULL, claim_expires_at = NULL
      WHERE id = @id AND status = 'pending' AND claim_owner = @owner`,
  listAll: `SELECT ${COLUMNS} FROM webhook_deliveries WHERE tenant = ? AND ordinal < ? ORDER BY ordinal DESC LIMIT ?`,
  listByStatus: `SELECT ${COLUMNS} FROM webhook_deliveries WHERE tenant = ? AND status = ? AND ordinal < ? ORDER BY ordinal DESC LIMIT ?`,
  again: `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = @now, retried_at = @now, finished_at = NULL,
      claim_owner = NULL, claim_expires_at = NULL
      WHERE id = @id AND tenant = @tenant AND status = 'failed' RETURNING ${COLUMNS}`,
  find: `SELECT ${COLUMNS} FROM webhook_deliveries WHERE id = ? AND tenant = ?`,
  countPending: `SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'`,
  purge: `DELETE FROM webhook_deliveries WHERE ordinal IN (
        SELECT ordinal FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < ? LIMIT ?)`,
} as const;

export class SqliteOutbox {
  private readonly sql: { [K in keyof typeof SQL]: Statement };

  constructor(db: Database) {
    this.sql = Object.fromEntries(Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)])) as SqliteOutbox['sql'];
    this.sql.countPending.pluck();
  }

  /** Inside a commit's transaction. */
  insert(delivery: WebhookDelivery): void {
    this.sql.insert.run(delivery);
  }

  claim({ owner, now, limit, claimMs }: { owner: string; now: string; limit: number; claimMs: number }): DeliveryRecord[] {
    if (limit <= 0) return [];
    const until = new Date(Date.parse(now) + claimMs).toISOString();
    const rows = this.sql.claim.all({ owner, until, now, limit }) as DeliveryRow[];
    // RETURNING gives no order; the port promises the due ones first.
    rows.sort((a, b) => (a.next_attempt_at < b.next_attempt_at ? -1 : a.next_attempt_at > b.next_attempt_at ? 1 : a.ordinal - b.ordinal));
    return rows.map(toDelivery);
  }

  markDelivered(id: string, owner: string, at: string): boolean {
    return this.sql.delivered.run({ id, owner, at }).changes === 1;
  }

  scheduleRetry(id: string, owner: string, next: string, error: string): boolean {
    return this.sql.retry.run({ id, owner, next, error }).changes === 1;
  }

  markFailed(id: string, owner: string, at: string, error: string): boolean {
    return this.sql.failed.run({ id, owner, at, error }).changes === 1;
  }

  list({ tenant, status, limit, cursor }: DeliveryQuery): Page<DeliveryRecord> {
    const before = cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(cursor);
    const rows = (status ? this.sql.listByStatus.all(tenant, status, before, limit + 1) : this.sql.listAll.all(tenant, before, limit + 1)) as DeliveryRow[];
    const page = rows.slice(0, limit);
    return { items: page.map(toDelivery), nextCursor: rows.length > limit ? String(page.at(-1)!.ordinal) : null };
  }

  find(tenant: string, id: string): DeliveryRecord | null {
    const found = this.sql.find.get(id, tenant) as DeliveryRow | undefined;
    return found ? toDelivery(found) : null;
  }

  retry(tenant: string, id: string, now: string): RetryOutcome | null {
    const retried = this.sql.again.get({ tenant, id, now }) as DeliveryRow | undefined;
    if (retried) return { outcome: 'retried', delivery: toDelivery(retried) };
    const found = this.find(tenant, id);
    return found ? { outcome: 'not_failed', delivery: found } : null;
  }

  countPending(): number {
    return this.sql.countPending.get() as number;
  }

  purge(before: string, limit: number): number {
    return this.sql.purge.run(before, limit).changes;
  }
}
