import type pg from 'pg';
import { SchemaTooNew } from '../store.js';
import { STATEMENT_TIMEOUT_MS } from './connection.js';

/**
 * Append-only: a released migration is never edited; a change is a new entry.
 *
 * Texts, not jsonb, for payloads: the store keeps what it is given byte for
 * byte, and never looks inside. A session's title, agent, system prompt and
 * metadata are one JSON text (`info`): JSON escapes the NUL characters that a
 * text column refuses. No index covers a column every commit changes
 * (version, updated_at, last_event_seq, bytes), so a token commit is a HOT
 * update; retention finds idle sessions by a scan, hourly.
 */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE sessions (
    id               text        PRIMARY KEY,
    ordinal          bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant           text        NOT NULL,
    info             text        NOT NULL,
    state            text        NOT NULL,
    snapshot         text        NOT NULL,
    version          integer     NOT NULL,
    last_event_seq   integer     NOT NULL,
    message_count    integer     NOT NULL,
    created_at       text        NOT NULL,
    updated_at       text        NOT NULL,
    last_run_status  text,
    lease_owner      text,
    lease_epoch      integer     NOT NULL DEFAULT 0,
    lease_expires_at timestamptz,
    bytes            bigint      NOT NULL DEFAULT 0,
    queued           integer     NOT NULL DEFAULT 0
  );
  CREATE INDEX sessions_by_tenant ON sessions (tenant, ordinal);
  CREATE INDEX sessions_by_tenant_state ON sessions (tenant, state, ordinal);
  CREATE INDEX sessions_running ON sessions (ordinal) WHERE state = 'running';
  CREATE INDEX sessions_interrupted ON sessions (ordinal) WHERE state = 'idle' AND last_run_status = 'interrupted';
  CREATE INDEX sessions_with_queue ON sessions (ordinal) WHERE queued > 0;
  CREATE TABLE events (
    session_id text    NOT NULL,
    seq        integer NOT NULL,
    data       text    NOT NULL,
    PRIMARY KEY (session_id, seq)
  );
  CREATE TABLE messages (
    session_id text    NOT NULL,
    position   integer NOT NULL,
    message_id text    NOT NULL,
    data       text    NOT NULL,
    PRIMARY KEY (session_id, position)
  );
  CREATE INDEX messages_by_id ON messages (session_id, message_id);
  -- Runs in progress per tenant, moved in the same statement as every run start and end: the concurrent-run limit is one row's compare-and-add.
  CREATE TABLE tenant_runs (
    tenant  text    PRIMARY KEY,
    running integer NOT NULL CHECK (running >= 0)
  );
  CREATE TABLE api_keys (
    id         text PRIMARY KEY,
    tenant     text NOT NULL,
    name       text,
    hash       text NOT NULL UNIQUE,
    created_at text NOT NULL,
    revoked_at text
  );
  -- What one instance asks of the owner of a run (cancel, enqueue, dequeue); taken by that owner.
  CREATE TABLE owner_commands (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner      text        NOT NULL,
    session_id text        NOT NULL,
    command    text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE write_probe (id integer PRIMARY KEY, at timestamptz NOT NULL);
  -- Raised inside a statement to roll it back whole, with a reason the store recognises.
  CREATE FUNCTION bamboo_refuse(reason text) RETURNS integer LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = reason;
  END $$;
  CREATE TABLE idempotency_records (
    tenant     text    NOT NULL,
    key        text    NOT NULL,
    method     text    NOT NULL,
    path       text    NOT NULL,
    body_hash  text    NOT NULL,
    status     integer NOT NULL,
    body       text    NOT NULL,
    created_at text    NOT NULL,
    PRIMARY KEY (tenant, key)
  );
  CREATE INDEX idempotency_records_by_age ON idempotency_records (created_at);
  `,
  // The webhook outbox: deliveries written with the run endings they tell of, claimed by one dispatcher at a time.
  // Times are ISO 8601 UTC texts as the port passes them, so they compare as times, as in SQLite.
  `
  CREATE TABLE webhook_deliveries (
    ordinal          bigserial PRIMARY KEY,
    id               text    NOT NULL UNIQUE,
    tenant           text    NOT NULL,
    session_id       text    NOT NULL,
    run_id           text    NOT NULL,
    type             text    NOT NULL,
    url              text    NOT NULL,
    payload          text    NOT NULL,
    created_at       text    NOT NULL,
    status           text    NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  text    NOT NULL,
    last_error       text,
    finished_at      text,
    retried_at       text,
    claim_owner      text,
    claim_expires_at text
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, ordinal) WHERE status = 'pending';
  CREATE INDEX webhook_deliveries_by_tenant ON webhook_deliveries (tenant, ordinal);
  CREATE INDEX webhook_deliveries_by_tenant_status ON webhook_deliveries (tenant, status, ordinal);
  CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE status <> 'pending';
  `,
  // Requests per tenant in the current rate-limit window, counted by every instance together.
  `
  CREATE TABLE request_counts (
    key          text    PRIMARY KEY,
    window_start bigint  NOT NULL,
    hits         integer NOT NULL
  );
  `,
  // Event streams open per tenant on each instance; a row counts while it is live (its instance renews it).
  `
  CREATE TABLE tenant_streams (
    tenant     text        NOT NULL,
    instance   text        NOT NULL,
    open       integer     NOT NULL CHECK (open >= 0),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, instance)
  );
  -- Opening serialises on the tenant (an advisory lock held to the end of the statement's transaction), so two instances cannot both take the last place.
  CREATE FUNCTION bamboo_open_stream(p_tenant text, p_instance text, p_limit integer, p_ttl_ms integer) RETURNS boolean LANGUAGE plpgsql AS $$
  DECLARE
    open_now integer;
  BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('bamboo tenant streams'), hashtext(p_tenant));
    -- A new statement, so a new snapshot: it sees every open committed before the lock was granted.
    SELECT coalesce(sum(open), 0) INTO open_now FROM tenant_streams WHERE tenant = p_tenant AND expires_at > clock_timestamp();
    IF p_limit > 0 AND open_now >= p_limit THEN
      RETURN false;
    END IF;
    INSERT INTO tenant_streams AS s (tenant, instance, open, expires_at)
    VALUES (p_tenant, p_instance, 1, clock_timestamp() + p_ttl_ms * interval '1 millisecond')
    ON CONFLICT (tenant, instance) DO UPDATE SET open = s.open + 1, expires_at = EXCLUDED.expires_at;
    RETURN true;
  END $$;
  `,
];

/** Any constant shared by every instance: the key of the advisory lock that serialises migrations. */
const MIGRATION_LOCK = 0x0b_a0_b0_01;

/**
 * Brings the schema up to date in one transaction. Several instances may start
 * at once: the advisory lock makes them take turns, and each one after the
 * first finds nothing left to do. Returns the schema version.
 *
 * No limit on a statement's length: an instance waits for another's
 * migration however long it takes, and a migration may index a large table.
 * A wait for any other lock is bounded: a change to a table in use must not
 * queue every instance's statements behind its own for long; it fails the
 * start instead, to be tried again. The client must set no `query_timeout`.
 */
export async function migrate(client: pg.ClientBase): Promise<number> {
  await client.query('BEGIN; SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`SET LOCAL lock_timeout = ${STATEMENT_TIMEOUT_MS}`);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at text NOT NULL)');
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
    const current = rows[0]?.v ?? 0;
    if (current > MIGRATIONS.length) {
      throw new SchemaTooNew(current, MIGRATIONS.length);
    }
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      await client.query(MIGRATIONS[version - 1]);
      await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [version, new Date().toISOString()]);
    }
    await client.query('COMMIT');
    return MIGRATIONS.length;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
