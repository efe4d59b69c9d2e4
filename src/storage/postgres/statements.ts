/**
 * Every statement the PostgreSQL store runs. Each write is one statement, so
 * one round trip and its own transaction: data-modifying CTEs hang off the
 * compare-and-set UPDATE (or the INSERT), so when it matches no row nothing
 * else is written. Lease times come from the database's clock.
 */

import { COUNTER_SQL, type CounterStatement } from './counters.js';
import { OUTBOX_SQL, type OutboxStatement } from './outbox.js';

/** LISTEN/NOTIFY channels; payloads stay small and are decoded in feed.ts. */
export const CHANNELS = {
  /** `sessionId:lastSeq:instanceId` after a commit with events (the instance that wrote it, or empty). */
  events: 'bamboo_events',
  /** `sessionId` after a deletion. */
  deleted: 'bamboo_deleted',
  /** `owner:id` of a row of `owner_commands`: one instance asks the owner of a run to act (cancel, enqueue, dequeue). */
  command: 'bamboo_command',
} as const;

export const SESSION_COLUMNS = `id, tenant, info, state, snapshot, version,
  last_event_seq, message_count, created_at, updated_at, lease_owner, lease_epoch`;

/** The columns of an idempotency record, as `jsonb_to_recordset` reads them. */
const RECORD_SHAPE = 'r(tenant text, key text, method text, path text, body_hash text, status integer, body text, created_at text)';
const INSERT_RECORDS = `INSERT INTO idempotency_records (tenant, key, method, path, body_hash, status, body, created_at)
    SELECT r.tenant, r.key, r.method, r.path, r.body_hash, r.status, r.body, r.created_at`;

/** A webhook delivery as `jsonb_to_recordset` reads it from a commit; pending and due at once. */
const DELIVERY_SHAPE = 'd(id text, tenant text, session_id text, run_id text, type text, url text, payload text, created_at text)';
const INSERT_DELIVERIES = `INSERT INTO webhook_deliveries (id, tenant, session_id, run_id, type, url, payload, created_at, status, next_attempt_at)
    SELECT d.id, d.tenant, d.session_id, d.run_id, d.type, d.url, d.payload, d.created_at, 'pending', d.created_at`;

const MS = "* interval '1 millisecond'";

export const SQL = {
  /** $1..$12 the row; $13 seqs, $14 event texts; $15 idempotency records as JSON; $16 bytes. */
  createSession: `
    WITH s AS (
      INSERT INTO sessions (id, tenant, info, state, snapshot, version, last_event_seq,
                            message_count, created_at, updated_at, lease_owner, lease_epoch, bytes)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $16)
      RETURNING id
    ), ev AS (
      INSERT INTO events (session_id, seq, data)
      SELECT s.id, e.seq, e.data FROM s, unnest($13::integer[], $14::text[]) AS e(seq, data)
    ), idem AS (
      ${INSERT_RECORDS} FROM s, jsonb_to_recordset($15::jsonb) AS ${RECORD_SHAPE}
    )
    SELECT count(*)::integer AS created FROM s`,

  /**
   * $1 id, $2 expected version, $3 updated_at; $4 has snapshot, $5 state, $6 snapshot, $7 last run status, $8 queued;
   * $9 last seq (null without events), $10 seqs, $11 event texts; $12 message texts, $13 message ids, $14 ids of
   * messages removed, $15 bytes added; $16 lease 'take' | 'release' | null, $17 owner, $18 epoch, $19 ttl ms,
   * $20 the tenant's limit of runs (0: none); $21 only if the lease expired; $22 idempotency records as JSON;
   * $23 webhook deliveries as JSON; $24 the writing instance, named in the notice.
   */
  commit: `
    WITH upd AS (
      UPDATE sessions SET
        version = version + 1,
        updated_at = $3,
        state = CASE WHEN $4::boolean THEN $5 ELSE state END,
        snapshot = CASE WHEN $4::boolean THEN $6 ELSE snapshot END,
        last_run_status = CASE WHEN $4::boolean THEN $7 ELSE last_run_status END,
        queued = CASE WHEN $4::boolean THEN $8::integer ELSE queued END,
        last_event_seq = COALESCE($9::integer, last_event_seq),
        message_count = message_count + cardinality($12::text[])
          - (SELECT count(*) FROM messages WHERE session_id = $1 AND message_id = ANY($14::text[]))::integer,
        bytes = bytes + $15::bigint,
        info = COALESCE($25::text, info),
        lease_owner = CASE $16::text WHEN 'take' THEN $17 WHEN 'release' THEN NULL ELSE lease_owner END,
        lease_epoch = CASE $16::text WHEN 'take' THEN $18::integer ELSE lease_epoch END,
        lease_expires_at = CASE $16::text WHEN 'take' THEN now() + $19::float8 ${MS} WHEN 'release' THEN NULL ELSE lease_expires_at END
      WHERE id = $1 AND version = $2
        AND (NOT $21::boolean OR lease_expires_at IS NULL OR lease_expires_at < now())
      RETURNING id, tenant
    ), ev AS (
      INSERT INTO events (session_id, seq, data)
      SELECT upd.id, e.seq, e.data FROM upd, unnest($10::integer[], $11::text[]) AS e(seq, data)
    ), gone AS (
      DELETE FROM messages USING upd WHERE messages.session_id = upd.id AND messages.message_id = ANY($14::text[])
    ), msg AS (
      -- Positions only grow: after removals the next one is past the highest ever used, never a reused one.
      INSERT INTO messages (session_id, position, message_id, data)
      SELECT upd.id, top.position + m.n, m.id, m.data
      FROM upd, (SELECT COALESCE(max(position), 0) AS position FROM messages WHERE session_id = $1) AS top,
           unnest($12::text[], $13::text[]) WITH ORDINALITY AS m(data, id, n)
    ), idem AS (
      ${INSERT_RECORDS} FROM upd, jsonb_to_recordset($22::jsonb) AS ${RECORD_SHAPE}
    ), started AS (
      -- A run start counts one more run for the tenant, unless that passes its limit: the row's lock orders racing starts.
      INSERT INTO tenant_runs (tenant, running) SELECT upd.tenant, 1 FROM upd WHERE $16::text = 'take'
      ON CONFLICT (tenant) DO UPDATE SET running = tenant_runs.running + 1
        WHERE $20::integer <= 0 OR tenant_runs.running < $20::integer
      RETURNING tenant
    ), ended AS (
      UPDATE tenant_runs SET running = greatest(running - 1, 0) FROM upd WHERE tenant_runs.tenant = upd.tenant AND $16::text = 'release'
    ), refused AS (
      SELECT bamboo_refuse('too_many_runs') FROM upd WHERE $16::text = 'take' AND NOT EXISTS (SELECT 1 FROM started)
    ), hooks AS (
      ${INSERT_DELIVERIES} FROM upd, jsonb_to_recordset($23::jsonb) AS ${DELIVERY_SHAPE}
    ), note AS (
      SELECT pg_notify('${CHANNELS.events}', upd.id || ':' || $9::integer || ':' || $24::text) FROM upd WHERE $9::integer IS NOT NULL
    )
    -- A SELECT in WITH runs only as far as it is read: count the refusal and the notification so that they happen.
    SELECT (SELECT count(*) FROM upd)::integer AS updated, (SELECT count(*) FROM refused)::integer AS refused,
           (SELECT count(*) FROM note)::integer AS notified`,

  /** The deletion is announced in its own transaction: no instance can miss it while the rows are gone. */
  deleteSession: `
    WITH s AS (DELETE FROM sessions WHERE id = $1 RETURNING id, tenant, state),
    ev AS (DELETE FROM events WHERE session_id = $1),
    msg AS (DELETE FROM messages WHERE session_id = $1),
    runs AS (UPDATE tenant_runs SET running = greatest(running - 1, 0) FROM s WHERE tenant_runs.tenant = s.tenant AND s.state = 'running'),
    note AS (SELECT pg_notify('${CHANNELS.deleted}', s.id) FROM s)
    SELECT (SELECT count(*) FROM s)::integer AS removed, (SELECT count(*) FROM note)::integer AS notified`,

  /**
   * What a commit that finished while `deleteSession` waited for the session's
   * row added: that statement's snapshot predates it. Nothing can add more once
   * the row is gone (a commit inserts only when its update found the row).
   */
  deleteLog: `
    WITH ev AS (DELETE FROM events WHERE session_id = $1)
    DELETE FROM messages WHERE session_id = $1`,

  /** Up to $2 sessions not running and unchanged since $1, with their logs; each deletion announced. */
  deleteIdleSince: `
    WITH old AS (
      SELECT id FROM sessions WHERE state <> 'running' AND updated_at < $1 ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED
    ), s AS (DELETE FROM sessions USING old WHERE sessions.id = old.id RETURNING sessions.id),
    ev AS (DELETE FROM events WHERE session_id IN (SELECT id FROM s)),
    msg AS (DELETE FROM messages WHERE session_id IN (SELECT id FROM s)),
    note AS (SELECT pg_notify('${CHANNELS.deleted}', s.id) FROM s)
    SELECT s.id, (SELECT count(*) FROM note)::integer AS notified FROM s`,

  loadSession: `SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = $1`,
  sessionVersion: 'SELECT version FROM sessions WHERE id = $1',
  listAll: `SELECT ${SESSION_COLUMNS}, ordinal::text AS ordinal FROM sessions
    WHERE tenant = $1 AND ordinal < $2::bigint ORDER BY ordinal DESC LIMIT $3`,
  listByState: `SELECT ${SESSION_COLUMNS}, ordinal::text AS ordinal FROM sessions
    WHERE tenant = $1 AND state = $2 AND ordinal < $3::bigint ORDER BY ordinal DESC LIMIT $4`,
  countByState: 'SELECT state, count(*)::integer AS n FROM sessions GROUP BY state',
  // Positions from clients may exceed an integer (the API allows 15 digits): compared as bigint, they page nothing.
  // Rows come with the size of those before them, and stop one past the byte budget $4: nothing more is sent.
  readEvents: `SELECT data, before FROM (
      SELECT data, seq, sum(length(data)) OVER (ORDER BY seq ROWS UNBOUNDED PRECEDING) - length(data) AS before,
        COALESCE(sum(length(data)) OVER (ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 2 PRECEDING), 0) AS before_previous
      FROM events WHERE session_id = $1 AND seq > $2::bigint ORDER BY seq LIMIT $3
    ) page WHERE before_previous <= $4::bigint ORDER BY seq`,
  readMessages: `SELECT position, data, before FROM (
      SELECT position, data, sum(length(data)) OVER (ORDER BY position ROWS UNBOUNDED PRECEDING) - length(data) AS before,
        COALESCE(sum(length(data)) OVER (ORDER BY position ROWS BETWEEN UNBOUNDED PRECEDING AND 2 PRECEDING), 0) AS before_previous
      FROM messages WHERE session_id = $1 AND position > $2::bigint ORDER BY position LIMIT $3
    ) page WHERE before_previous <= $4::bigint ORDER BY position`,
  tenantUsage: 'SELECT count(*)::integer AS sessions, COALESCE(sum(bytes), 0)::float8 AS bytes FROM sessions WHERE tenant = $1',
  queuedSessions: `SELECT id FROM sessions WHERE queued > 0 AND state IN ('idle', 'completed') ORDER BY ordinal`,
  insertApiKey: 'INSERT INTO api_keys (id, tenant, name, hash, created_at) VALUES ($1, $2, $3, $4, $5)',
  listApiKeys: 'SELECT id, tenant, name, hash, created_at, revoked_at FROM api_keys ORDER BY created_at, id',
  revokeApiKey: 'UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL',
  findApiKey: 'SELECT id, tenant, name, hash, created_at, revoked_at FROM api_keys WHERE hash = $1 AND revoked_at IS NULL',
  countActiveApiKeys: 'SELECT count(*)::integer AS n FROM api_keys WHERE revoked_at IS NULL',
  /** A write that touches a page: a full disk fails it where a read would not. */
  pingWrite: `WITH w AS (INSERT INTO write_probe (id, at) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET at = now() RETURNING id)
    SELECT count(*)::integer AS written FROM w`,
  /** $1 owner, $2 session, $3 command as JSON: kept in a row (it may be larger than a notification), the owner told its id. */
  requestCommand: `WITH c AS (INSERT INTO owner_commands (owner, session_id, command) VALUES ($1, $2, $3) RETURNING id)
    SELECT pg_notify('${CHANNELS.command}', $1 || ':' || c.id) FROM c`,
  /** The owner takes its command; commands older than a minute (their asker gave up) go with it. */
  takeCommand: `WITH taken AS (DELETE FROM owner_commands WHERE id = $1 AND owner = $2 RETURNING session_id, command),
    stale AS (DELETE FROM owner_commands WHERE created_at < now() - interval '1 minute')
    SELECT session_id, command FROM taken`,
  /** $1 owner, $2 ms: takes all the owner's commands; returns those asked within $2 ms (older ones' askers acted without it), in order. */
  takePendingCommands: `WITH taken AS (DELETE FROM owner_commands WHERE owner = $1 RETURNING id, session_id, command, created_at)
    SELECT session_id, command FROM taken WHERE created_at > now() - $2::float8 ${MS} ORDER BY id`,
  readRecentMessages: 'SELECT data FROM messages WHERE session_id = $1 ORDER BY position DESC LIMIT $2',
  // Walks back from the newest message one index probe at a time, and stops at the first that would pass the
  // byte budget $3 (UTF-8, as `octet_length` counts in a UTF8 database): a long transcript is not scanned.
  readRecentMessagesWithin: `WITH RECURSIVE recent AS (
      (SELECT position, data, octet_length(data)::bigint AS bytes, 1 AS n FROM messages WHERE session_id = $1 ORDER BY position DESC LIMIT 1)
      UNION ALL
      SELECT older.position, older.data, recent.bytes + octet_length(older.data), recent.n + 1
      FROM recent CROSS JOIN LATERAL (
        SELECT position, data FROM messages WHERE session_id = $1 AND position < recent.position ORDER BY position DESC LIMIT 1
      ) older
      WHERE recent.n < $2::bigint AND recent.bytes + octet_length(older.data) <= $3::bigint
    ) SELECT data FROM recent ORDER BY position DESC`,
  expiredRuns: `SELECT id FROM sessions WHERE state = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < now()) ORDER BY ordinal`,
  runningSessions: `SELECT id FROM sessions WHERE state = 'running' ORDER BY ordinal`,
  interruptedSessions: `SELECT id FROM sessions WHERE state = 'idle' AND last_run_status = 'interrupted' ORDER BY ordinal`,
  renewLeases: `UPDATE sessions SET lease_expires_at = now() + $3::float8 ${MS}
    WHERE id = ANY($1::text[]) AND lease_owner = $2 AND state = 'running' RETURNING id`,
  /** Sessions written since a time, with where their logs end: what a listener that was deaf may have missed. */
  changedSince: 'SELECT id, last_event_seq FROM sessions WHERE updated_at >= $1',
  getIdempotency: 'SELECT * FROM idempotency_records WHERE tenant = $1 AND key = $2',
  keepIdempotency: `INSERT INTO idempotency_records (tenant, key, method, path, body_hash, status, body, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
  existingKeys: 'SELECT tenant, key FROM idempotency_records WHERE (tenant, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))',
  purgeIdempotency: 'DELETE FROM idempotency_records WHERE created_at < $1',
  notify: 'SELECT pg_notify($1, $2)',
  ping: 'SELECT 1',
} as const;

export type StatementName = keyof typeof SQL;

/** Every statement the store prepares: its own, the outbox's and the shared counters'. */
export type AnyStatement = StatementName | OutboxStatement | CounterStatement;

export function statementText(name: AnyStatement): string {
  if (name in SQL) return SQL[name as StatementName];
  if (name in OUTBOX_SQL) return OUTBOX_SQL[name as OutboxStatement];
  return COUNTER_SQL[name as CounterStatement];
}
