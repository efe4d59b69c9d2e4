/** Rows as SQLite returns them, and their mapping to the port's types. */
import type { SessionState } from '../../domain/types.js';
import type { DeliveryStatus, WebhookEventType } from '../../domain/webhooks.js';
import type { DeliveryRecord, IdempotencyRecord, SessionRow } from '../store.js';

export interface SessionRecord {
  ordinal: number;
  id: string;
  tenant: string;
  title: string | null;
  agent: string;
  system_prompt: string | null;
  metadata: string;
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

export function toRow(record: SessionRecord): SessionRow {
  return {
    info: {
      id: record.id,
      tenant: record.tenant,
      title: record.title,
      agent: record.agent,
      system_prompt: record.system_prompt,
      metadata: JSON.parse(record.metadata) as Record<string, unknown>,
      created_at: record.created_at,
    },
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

export interface IdempotencyRecordRow {
  tenant: string;
  key: string;
  method: string;
  path: string;
  body_hash: string;
  status: number;
  body: string;
  created_at: string;
}

export function toIdempotencyRecord(row: IdempotencyRecordRow): IdempotencyRecord {
  return {
    tenant: row.tenant,
    key: row.key,
    method: row.method,
    path: row.path,
    bodyHash: row.body_hash,
    status: row.status,
    body: row.body,
    createdAt: row.created_at,
  };
}

export interface DeliveryRow {
  ordinal: number;
  id: string;
  tenant: string;
  session_id: string;
  run_id: string;
  type: WebhookEventType;
  url: string;
  payload: string;
  created_at: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  finished_at: string | null;
  retried_at: string | null;
}

export function toDelivery(row: DeliveryRow): DeliveryRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    sessionId: row.session_id,
    runId: row.run_id,
    type: row.type,
    url: row.url,
    payload: row.payload,
    createdAt: row.created_at,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    finishedAt: row.finished_at,
    retriedAt: row.retried_at,
  };
}
