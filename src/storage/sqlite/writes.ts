/**
 * The bodies of the embedded store's writes: a session's creation and a
 * commit. Each runs inside a group transaction (see group-commit.ts) and
 * throws the port's errors, so the group can tell which write failed.
 */
import type { SessionEvent } from '../../domain/events.js';
import type { Commit, IdempotencyRecord, SessionRow } from '../store.js';
import { IdempotencyKeyTaken, TooManyRuns, VersionConflict } from '../store.js';
import { createdSize, sizeOf } from '../sizes.js';
import { eventRow } from './event-rows.js';
import type { SqliteOutbox } from './outbox.js';
import type { Statements } from './statements.js';

export interface SessionWrites {
  writeSession: (row: SessionRow, events: SessionEvent[], idempotency?: IdempotencyRecord) => void;
  writeCommit: (commit: Commit) => void;
}

export function sessionWrites(sql: Statements, outbox: SqliteOutbox): SessionWrites {
  const insertEvents = (sessionId: string, events: readonly SessionEvent[], texts: readonly string[]): void => {
    if (events.length === 0) return;
    const row = eventRow(events, texts);
    sql.insertEvent.run(sessionId, row.seq, row.data);
  };
  const putIdempotency = (record: IdempotencyRecord): void => {
    if (sql.putIdempotency.run(record).changes !== 1) throw new IdempotencyKeyTaken(record.tenant, record.key);
  };

  const writeSession = (row: SessionRow, events: SessionEvent[], idempotency?: IdempotencyRecord): void => {
    const data = events.map((event) => JSON.stringify(event));
    sql.insertSession.run({
      ...row.info,
      metadata: JSON.stringify(row.info.metadata),
      state: row.state,
      snapshot: row.snapshot,
      version: row.version,
      last_event_seq: row.last_event_seq,
      message_count: row.message_count,
      bytes: createdSize(row, data),
      updated_at: row.updated_at,
    });
    insertEvents(row.info.id, events, data);
    if (idempotency) putIdempotency(idempotency);
  };

  const writeCommit = (commit: Commit): void => {
    const { sessionId, expectedVersion, updatedAt, events, messages, snapshot, lease, runLimit } = commit;
    if (commit.onlyIfLeaseExpired && sql.leaseLive.get(sessionId, Date.now()) !== undefined) throw new VersionConflict(sessionId, expectedVersion);
    if (runLimit) {
      // A stale writer hears of its conflict first, as on PostgreSQL, not of a limit it never reached.
      if (sql.sessionVersion.get(sessionId) !== expectedVersion) throw new VersionConflict(sessionId, expectedVersion);
      if ((sql.runningForTenant.get(runLimit.tenant) as number) >= runLimit.max) throw new TooManyRuns(runLimit.tenant, runLimit.max);
    }
    const eventData = events.map((event) => JSON.stringify(event));
    const messageData = messages.map((message) => JSON.stringify(message));
    const bytes = sizeOf(eventData, messageData);
    const position = messages.length > 0 ? ((sql.messagePosition.get(sessionId) as number | undefined) ?? 0) : 0;
    const lastSeq = events.at(-1)?.seq ?? null;
    // Removed messages are counted out before the row is updated, so `message_count` stays exact.
    const removed = (commit.removeMessages ?? []).reduce((n, id) => n + sql.removeMessage.run(sessionId, id).changes, 0);
    const added = messages.length - removed;
    if (lease && !snapshot) throw new Error('A lease moves only with the state: a commit with `lease` needs `snapshot`');
    const update = !snapshot
      ? sql.updateLog.run(lastSeq, added, bytes, updatedAt, sessionId, expectedVersion)
      : !lease
        ? sql.updateWithSnapshot.run(snapshot.state, snapshot.data, snapshot.lastRunStatus, snapshot.queued, lastSeq, added, bytes, updatedAt, sessionId, expectedVersion)
        : 'release' in lease
          ? sql.updateReleasingLease.run(snapshot.state, snapshot.data, snapshot.lastRunStatus, snapshot.queued, lastSeq, added, bytes, updatedAt, sessionId, expectedVersion)
          : sql.updateTakingLease.run(snapshot.state, snapshot.data, snapshot.lastRunStatus, snapshot.queued, lastSeq, added, bytes, updatedAt,
              lease.owner, lease.epoch, Date.now() + lease.ttlMs, sessionId, expectedVersion);
    if (update.changes !== 1) throw new VersionConflict(sessionId, expectedVersion);
    if (commit.agent !== undefined) sql.setAgent.run(commit.agent, sessionId);
    insertEvents(sessionId, events, eventData);
    messageData.forEach((data, i) => sql.insertMessage.run(sessionId, position + i + 1, data, messages[i]!.id));
    for (const record of commit.idempotency ?? []) putIdempotency(record);
    for (const delivery of commit.outbox ?? []) outbox.insert(delivery);
  };

  return { writeSession, writeCommit };
}
