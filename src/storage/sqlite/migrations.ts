import type { Database } from 'better-sqlite3';
import { SchemaTooNew } from '../store.js';

/** Append-only: a released migration is never edited; a change is a new entry. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE sessions (
    ordinal        INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT    NOT NULL UNIQUE,
    title          TEXT,
    agent          TEXT    NOT NULL,
    system_prompt  TEXT,
    metadata       TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    snapshot       TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    last_event_seq INTEGER NOT NULL,
    message_count  INTEGER NOT NULL,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
  );
  CREATE INDEX sessions_by_state ON sessions (state, ordinal);
  CREATE TABLE events (
    session_id TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    data       TEXT    NOT NULL,
    PRIMARY KEY (session_id, seq)
  ) WITHOUT ROWID;
  CREATE TABLE messages (
    session_id TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    data       TEXT    NOT NULL,
    PRIMARY KEY (session_id, position)
  ) WITHOUT ROWID;
  CREATE TABLE idempotency_keys (
    key        TEXT    PRIMARY KEY,
    method     TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    body_hash  TEXT    NOT NULL,
    status     INTEGER NOT NULL,
    body       TEXT    NOT NULL,
    created_at TEXT    NOT NULL
  );
  CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
  `,
  // Tenants, run leases, the last run's status (to find interrupted runs), idempotency keys per tenant.
  `
  ALTER TABLE sessions ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
  ALTER TABLE sessions ADD COLUMN lease_owner TEXT;
  ALTER TABLE sessions ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE sessions ADD COLUMN lease_expires_at INTEGER;
  ALTER TABLE sessions ADD COLUMN last_run_status TEXT;
  UPDATE sessions SET last_run_status = json_extract(snapshot, '$.context.lastRun.status');
  CREATE INDEX sessions_by_tenant ON sessions (tenant, ordinal);
  CREATE INDEX sessions_by_tenant_state ON sessions (tenant, state, ordinal);
  CREATE TABLE idempotency_records (
    tenant     TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    method     TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    body_hash  TEXT    NOT NULL,
    status     INTEGER NOT NULL,
    body       TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (tenant, key)
  ) WITHOUT ROWID;
  INSERT INTO idempotency_records SELECT 'default', key, method, path, body_hash, status, body, created_at FROM idempotency_keys;
  DROP TABLE idempotency_keys;
  CREATE INDEX idempotency_records_by_age ON idempotency_records (created_at);
  `,
  // API keys, hashed; running sessions per tenant, for the concurrent-run limit.
  `
  CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    name       TEXT,
    hash       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
  );
  CREATE INDEX sessions_running_by_tenant ON sessions (tenant) WHERE state = 'running';
  `,
  // Bytes per session (its log and transcript), for quotas; idle sessions by age, for retention; a table for write probes.
  `
  ALTER TABLE sessions ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
  UPDATE sessions SET bytes =
    COALESCE((SELECT SUM(length(data)) FROM events WHERE events.session_id = sessions.id), 0) +
    COALESCE((SELECT SUM(length(data)) FROM messages WHERE messages.session_id = sessions.id), 0);
  CREATE INDEX sessions_idle_by_age ON sessions (updated_at) WHERE state <> 'running';
  CREATE TABLE write_probe (id INTEGER PRIMARY KEY, at TEXT NOT NULL);
  `,
  // Messages by id (a rollback removes some); how many messages a session has queued.
  `
  ALTER TABLE messages ADD COLUMN message_id TEXT;
  UPDATE messages SET message_id = json_extract(data, '$.id');
  CREATE INDEX messages_by_id ON messages (session_id, message_id);
  ALTER TABLE sessions ADD COLUMN queued INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX sessions_with_queue ON sessions (ordinal) WHERE queued > 0;
  `,
  // The webhook outbox: deliveries written with the run endings they tell of, claimed by a dispatcher.
  `
  CREATE TABLE webhook_deliveries (
    ordinal          INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT    NOT NULL UNIQUE,
    tenant           TEXT    NOT NULL,
    session_id       TEXT    NOT NULL,
    run_id           TEXT    NOT NULL,
    type             TEXT    NOT NULL,
    url              TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT    NOT NULL,
    last_error       TEXT,
    finished_at      TEXT,
    retried_at       TEXT,
    claim_owner      TEXT,
    claim_expires_at TEXT
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, ordinal) WHERE status = 'pending';
  CREATE INDEX webhook_deliveries_by_tenant ON webhook_deliveries (tenant, ordinal);
  CREATE INDEX webhook_deliveries_by_tenant_status ON webhook_deliveries (tenant, status, ordinal);
  CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE status <> 'pending';
  `,
  // Fewer indexes for a commit to keep up: every state change rewrote these. By state, the tenant's index serves
  // the lists and the partial ones the sweeps; the index by age exists only while retention is on (indexForRetention).
  `
  DROP INDEX sessions_by_state;
  DROP INDEX sessions_idle_by_age;
  DROP INDEX sessions_running_by_tenant;
  CREATE INDEX sessions_running ON sessions (ordinal) WHERE state = 'running';
  CREATE INDEX sessions_interrupted ON sessions (ordinal) WHERE state = 'idle' AND last_run_status = 'interrupted';
  `,
  // No change to the tables: from here a row of \`events\` may hold a whole commit's events (event-rows.ts), which
  // a server of an earlier version would not read; the version tells it so, and it refuses the file.
  `
  SELECT 1;
  `,
];

export function migrate(db: Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const current = (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  if (current > MIGRATIONS.length) {
    throw new SchemaTooNew(current, MIGRATIONS.length);
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
  for (let version = current + 1; version <= MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version - 1]);
      record.run(version, new Date().toISOString());
    })();
  }
  return MIGRATIONS.length;
}
