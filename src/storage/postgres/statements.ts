/**
 * Every statement the PostgreSQL store runs. Each write is one statement, so
 * one round trip and its own transaction: data-modifying CTEs hang off the
 * compare-and-set UPDATE (or the INSERT), so when it matches no row nothing
 * else is written. Lease times come from the database's clock.
 */

/** LISTEN/NOTIFY channels; payloads stay small and are decoded in feed.ts. */
export const CHANNELS = {
  /** `sessionId:lastSeq` after a commit with events. */
  events: 'bamboo_events',
  /** `sessionId` after a deletion. */
  deleted: 'bamboo_deleted',
  /** JSON `{owner, session, run}`: one instance asks the owner of a run to cancel it. */
  cancel: 'bamboo_cancel',
} as const;

export const SESSION_COLUMNS = `id, tenant, info, state, snapshot, version,
  last_event_seq, message_count, created_at, updated_at, lease_owner, lease_epoch`;

/** The columns of an idempotency record, as `jsonb_to_recordset` reads them. */
const RECORD_SHAPE = 'r(tenant text, key text, method text, path text, body_hash text, status integer, body text, created_at text)';
const INSERT_RECORDS = `INSERT INTO idempotency_records (tenant, key, method, path, body_hash, status, body, created_at)
    SELECT r.tenant, r.key, r.method, r.path, r.body_hash, r.status, r.body, r.created_at`;

const MS = "* interval '1 millisecond'";

export const SQL = {
  /** $1..$12 the row; $13 seqs, $14 event texts; $15 idempotency records as JSON. */
  createSession: `
    WITH s AS (
      INSERT INTO sessions (id, tenant, info, state, snapshot, version, last_event_seq,
                            message_count, created_at, updated_at, lease_owner, lease_epoch)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
      RETURNING id
    ), ev AS (
      INSERT INTO events (session_id, seq, data)
      SELECT s.id, e.seq, e.data FROM s, unnest($13::integer[], $14::text[]) AS e(seq, data)
    ), idem AS (
      ${INSERT_RECORDS} FROM s, jsonb_to_recordset($15::jsonb) AS ${RECORD_SHAPE}
    )
    SELECT count(*)::integer AS created FROM s`,

  /**
   * $1 id, $2 expected version, $3 updated_at; $4 has snapshot, $5 state, $6 snapshot, $7 last run status;
   * $8 last seq (null without events), $9 number of messages; $10 lease 'take' | 'release' | null, $11 owner,
   * $12 epoch, $13 ttl ms; $14 only if the lease expired; $15 seqs, $16 event texts, $17 message texts,
   * $18 idempotency records as JSON.
   */
  commit: `
    WITH upd AS (
      UPDATE sessions SET
        version = version + 1,
        updated_at = $3,
        state = CASE WHEN $4::boolean THEN $5 ELSE state END,
        snapshot = CASE WHEN $4::boolean THEN $6 ELSE snapshot END,
        last_run_status = CASE WHEN $4::boolean THEN $7 ELSE last_run_status END,
        last_event_seq = COALESCE($8::integer, last_event_seq),
        message_count = message_count + $9::integer,
        lease_owner = CASE $10::text WHEN 'take' THEN $11 WHEN 'release' THEN NULL ELSE lease_owner END,
        lease_epoch = CASE $10::text WHEN 'take' THEN $12::integer ELSE lease_epoch END,
        lease_expires_at = CASE $10::text WHEN 'take' THEN now() + $13::float8 ${MS} WHEN 'release' THEN NULL ELSE lease_expires_at END
      WHERE id = $1 AND version = $2
        AND (NOT $14::boolean OR lease_expires_at IS NULL OR lease_expires_at < now())
      RETURNING id, message_count
    ), ev AS (
      INSERT INTO events (session_id, seq, data)
      SELECT upd.id, e.seq, e.data FROM upd, unnest($15::integer[], $16::text[]) AS e(seq, data)
    ), msg AS (
      INSERT INTO messages (session_id, position, data)
      SELECT upd.id, upd.message_count - $9::integer + m.n, m.data FROM upd, unnest($17::text[]) WITH ORDINALITY AS m(data, n)
    ), idem AS (
      ${INSERT_RECORDS} FROM upd, jsonb_to_recordset($18::jsonb) AS ${RECORD_SHAPE}
    ), note AS (
      SELECT pg_notify('${CHANNELS.events}', upd.id || ':' || $8::integer) FROM upd WHERE $8::integer IS NOT NULL
    )
    -- A SELECT in WITH runs only as far as it is read: count the notification so that it is sent.
    SELECT (SELECT count(*) FROM upd)::integer AS updated, (SELECT count(*) FROM note)::integer AS notified`,

  /** The deletion is announced in its own transaction: no instance can miss it while the rows are gone. */
  deleteSession: `
    WITH s AS (DELETE FROM sessions WHERE id = $1 RETURNING id),
    ev AS (DELETE FROM events WHERE session_id = $1),
    msg AS (DELETE FROM messages WHERE session_id = $1),
    note AS (SELECT pg_notify('${CHANNELS.deleted}', s.id) FROM s)
    SELECT (SELECT count(*) FROM s)::integer AS removed, (SELECT count(*) FROM note)::integer AS notified`,

  loadSession: `SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = $1`,
  sessionVersion: 'SELECT version FROM sessions WHERE id = $1',
  listAll: `SELECT ${SESSION_COLUMNS}, ordinal::text AS ordinal FROM sessions
    WHERE tenant = $1 AND ordinal < $2::bigint ORDER BY ordinal DESC LIMIT $3`,
  listByState: `SELECT ${SESSION_COLUMNS}, ordinal::text AS ordinal FROM sessions
    WHERE tenant = $1 AND state = $2 AND ordinal < $3::bigint ORDER BY ordinal DESC LIMIT $4`,
  countByState: 'SELECT state, count(*)::integer AS n FROM sessions GROUP BY state',
  // Positions from clients may exceed an integer (the API allows 15 digits): compared as bigint, they page nothing.
  readEvents: 'SELECT data FROM events WHERE session_id = $1 AND seq > $2::bigint ORDER BY seq LIMIT $3',
  readMessages: 'SELECT position, data FROM messages WHERE session_id = $1 AND position > $2::bigint ORDER BY position LIMIT $3',
  readRecentMessages: 'SELECT data FROM messages WHERE session_id = $1 ORDER BY position DESC LIMIT $2',
  expiredRuns: `SELECT id FROM sessions WHERE state = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < now()) ORDER BY ordinal`,
  runningSessions: `SELECT id FROM sessions WHERE state = 'running' ORDER BY ordinal`,
  interruptedSessions: `SELECT id FROM sessions WHERE state = 'idle' AND last_run_status = 'interrupted' ORDER BY ordinal`,
  renewLeases: `UPDATE sessions SET lease_expires_at = now() + $3::float8 ${MS}
    WHERE id = ANY($1::text[]) AND lease_owner = $2 AND state = 'running' RETURNING id`,
  /** Sessions written since a time, with where their logs end: what a listener that was deaf may have missed. */
  changedSince: 'SELECT id, last_event_seq FROM sessions WHERE updated_at >= $1',
  getIdempotency: 'SELECT * FROM idempotency_records WHERE tenant = $1 AND key = $2',
  existingKeys: 'SELECT tenant, key FROM idempotency_records WHERE (tenant, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))',
  purgeIdempotency: 'DELETE FROM idempotency_records WHERE created_at < $1',
  notify: 'SELECT pg_notify($1, $2)',
  ping: 'SELECT 1',
} as const;

export type StatementName = keyof typeof SQL;
