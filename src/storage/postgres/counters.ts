/**
 * Per-tenant counts that every instance shares: requests in the current
 * rate-limit window, and event streams open. A request count is one upsert;
 * a stream opens through `bamboo_open_stream`, which takes the tenant's
 * advisory lock so the limit is checked and taken as one step.
 */
import type pg from 'pg';

export const COUNTER_SQL = {
  /** One more request for key $1 in its window of $2 ms, which starts at its first request (the database's clock) and then at the first after it ends. */
  countRequest: `
    INSERT INTO request_counts AS c (key, window_start, hits)
    VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint, 1)
    ON CONFLICT (key) DO UPDATE SET
      hits = CASE WHEN c.window_start + $2::bigint > EXCLUDED.window_start THEN c.hits + 1 ELSE 1 END,
      window_start = CASE WHEN c.window_start + $2::bigint > EXCLUDED.window_start THEN c.window_start ELSE EXCLUDED.window_start END
    RETURNING hits, window_start::text AS window_start`,
  uncountRequest: 'UPDATE request_counts SET hits = greatest(hits - 1, 0) WHERE key = $1',
  resetRequests: 'DELETE FROM request_counts WHERE key = $1',
  openStream: 'SELECT bamboo_open_stream($1, $2, $3, $4) AS opened',
  closeStream: 'UPDATE tenant_streams SET open = open - 1 WHERE tenant = $1 AND instance = $2 AND open > 0',
  /** The instance's counts become $2/$3 and live $4 ms more; its other rows, and rows long expired (instances gone), are deleted. */
  renewStreams: `
    WITH counts AS (SELECT * FROM unnest($2::text[], $3::integer[]) AS c (tenant, open)),
    renewed AS (
      INSERT INTO tenant_streams AS s (tenant, instance, open, expires_at)
      SELECT tenant, $1, open, clock_timestamp() + $4 * interval '1 millisecond' FROM counts
      ON CONFLICT (tenant, instance) DO UPDATE SET open = EXCLUDED.open, expires_at = EXCLUDED.expires_at
    )
    DELETE FROM tenant_streams
    WHERE (instance = $1 AND tenant <> ALL ($2::text[])) OR expires_at < clock_timestamp() - interval '1 hour'`,
} as const;

export type CounterStatement = keyof typeof COUNTER_SQL;
type Run = <R extends pg.QueryResultRow>(name: CounterStatement, values: unknown[]) => Promise<pg.QueryResult<R>>;

export class PgCounters {
  constructor(private readonly run: Run) {}

  async countRequest(key: string, windowMs: number): Promise<{ hits: number; resetAt: number }> {
    const { rows } = await this.run<{ hits: number; window_start: string }>('countRequest', [key, windowMs]);
    return { hits: rows[0]!.hits, resetAt: Number(rows[0]!.window_start) + windowMs };
  }

  async uncountRequest(key: string): Promise<void> {
    await this.run('uncountRequest', [key]);
  }

  async resetRequests(key: string): Promise<void> {
    await this.run('resetRequests', [key]);
  }

  async openStream(tenant: string, instance: string, limit: number, ttlMs: number): Promise<boolean> {
    const { rows } = await this.run<{ opened: boolean }>('openStream', [tenant, instance, limit, ttlMs]);
    return rows[0]!.opened;
  }

  async closeStream(tenant: string, instance: string): Promise<void> {
    await this.run('closeStream', [tenant, instance]);
  }

  async renewStreams(instance: string, counts: ReadonlyMap<string, number>, ttlMs: number): Promise<void> {
    await this.run('renewStreams', [instance, [...counts.keys()], [...counts.values()], ttlMs]);
  }
}
