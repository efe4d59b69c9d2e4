/** Rows as PostgreSQL returns them, and their mapping to the port's types. */
import type { SessionInfo, SessionState } from '../../domain/types.js';
import type { IdempotencyRecord, SessionRow } from '../store.js';

// Idempotency records have the same columns in both databases.
export type { IdempotencyRecordRow } from '../sqlite/records.js';
export { toIdempotencyRecord } from '../sqlite/records.js';

/** The session's description, stored as one JSON text. */
export type Profile = Pick<SessionInfo, 'title' | 'agent' | 'system_prompt' | 'metadata'>;

export interface SessionRecord {
  id: string;
  tenant: string;
  info: string;
  state: SessionState;
  snapshot: string;
  version: number;
  last_event_seq: number;
  message_count: number;
  created_at: string;
  updated_at: string;
  lease_owner: string | null;
  lease_epoch: number;
}

/** The `info` column: a session's description as one JSON text. */
export function profileText(info: SessionInfo): string {
  const profile: Profile = { title: info.title, agent: info.agent, system_prompt: info.system_prompt, metadata: info.metadata };
  return JSON.stringify(profile);
}

export function toRow({ info, ...record }: SessionRecord): SessionRow {
  const profile = JSON.parse(info) as Profile;
  return {
    info: { id: record.id, tenant: record.tenant, ...profile, created_at: record.created_at },
    state: record.state,
    snapshot: record.snapshot,
    version: record.version,
    last_event_seq: record.last_event_seq,
    message_count: record.message_count,
    updated_at: record.updated_at,
    lease_owner: record.lease_owner,
    lease_epoch: record.lease_epoch,
  };
}

/** Idempotency records as the JSON that `jsonb_to_recordset` reads in a commit. */
export function recordsJson(records: readonly IdempotencyRecord[]): string {
  return JSON.stringify(
    records.map((r) => ({ tenant: r.tenant, key: r.key, method: r.method, path: r.path, body_hash: r.bodyHash, status: r.status, body: r.body, created_at: r.createdAt })),
  );
}
