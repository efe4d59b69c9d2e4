/** The SQLite adapter: the shared storage contract, plus what only a file database can show. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { VersionConflict } from '../../src/storage/store.js';
import { describeStoreContract, event, message, sessionRow, tick } from './store.contract.js';

const dirs: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bamboo-store-'));
  dirs.push(dir);
  // A folder that does not exist yet: the store creates it.
  return join(dir, 'nested', 'bamboo.db');
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describeStoreContract('SQLite :memory:', () => new SqliteStore(':memory:'));
describeStoreContract('SQLite file', () => new SqliteStore(tempFile()));

describe('SQLite file database', () => {
  const open: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const handle of open.splice(0)) await handle.close();
  });

  it('keeps everything across a close and reopen', async () => {
    const file = tempFile();
    const first = new SqliteStore(file);
    const row = sessionRow('ses_durable');
    await first.createSession(row, [event('ses_durable', 1, 'session_created')]);
    const reply = message(2, { run_id: 'run_1' });
    const events = [event('ses_durable', 2, 'message_appended', { message: reply }), event('ses_durable', 3, 'run_completed', { run_id: 'run_1' })];
    const updatedAt = tick();
    await first.commit({ sessionId: 'ses_durable', expectedVersion: 1, updatedAt, snapshot: { state: 'completed', data: '{"done":1}' }, events, messages: [reply] });
    const key = { key: 'k1', method: 'POST', path: '/api/v1/sessions', bodyHash: 'h', status: 201, body: '{}', createdAt: tick() };
    await first.putIdempotency(key);
    await first.close();

    const second = new SqliteStore(file);
    open.push(second);
    expect(await second.loadSession('ses_durable')).toEqual({
      ...row,
      state: 'completed',
      snapshot: '{"done":1}',
      version: 2,
      last_event_seq: 3,
      message_count: 1,
      updated_at: updatedAt,
    });
    expect((await second.readEvents('ses_durable', 0, 10)).slice(1)).toEqual(events);
    expect((await second.readMessages('ses_durable', { limit: 10 })).items).toEqual([reply]);
    expect(await second.getIdempotency('k1')).toEqual(key);
    expect(await second.countByState()).toMatchObject({ completed: 1 });
    // Compare-and-set continues from the stored version.
    await expect(second.commit({ sessionId: 'ses_durable', expectedVersion: 1, updatedAt: tick(), events: [], messages: [] })).rejects.toBeInstanceOf(VersionConflict);
    await second.commit({ sessionId: 'ses_durable', expectedVersion: 2, updatedAt: tick(), events: [event('ses_durable', 4)], messages: [] });
  });

  it('sees what another connection to the same file committed', async () => {
    const file = tempFile();
    const writer = new SqliteStore(file);
    const reader = new SqliteStore(file);
    open.push(writer, reader);
    await writer.createSession(sessionRow('ses_shared'), [event('ses_shared', 1, 'session_created')]);
    expect((await reader.loadSession('ses_shared'))?.version).toBe(1);
    await writer.commit({ sessionId: 'ses_shared', expectedVersion: 1, updatedAt: tick(), events: [event('ses_shared', 2)], messages: [] });
    expect((await reader.loadSession('ses_shared'))?.version).toBe(2);
    // The reader's stale write is refused.
    await expect(reader.commit({ sessionId: 'ses_shared', expectedVersion: 1, updatedAt: tick(), events: [event('ses_shared', 2)], messages: [] })).rejects.toBeInstanceOf(
      VersionConflict,
    );
  });

  it('uses WAL and records its schema version once', async () => {
    const file = tempFile();
    await new SqliteStore(file).close();
    await new SqliteStore(file).close();
    const db = new Database(file, { readonly: true });
    open.push(db);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all() as number[];
    expect(versions).toEqual(versions.map((_, i) => i + 1));
    expect(versions.length).toBeGreaterThanOrEqual(1);
  });

  it('refuses a database written by a newer server', async () => {
    const file = tempFile();
    await new SqliteStore(file).close();
    const db = new Database(file);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(999, tick());
    db.close();
    expect(() => new SqliteStore(file)).toThrow(/newer/);
  });
});
