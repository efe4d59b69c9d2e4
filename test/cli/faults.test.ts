/**
 * Faults, black-box through the real command: SIGTERM under concurrent
 * idempotent writers loses no acknowledged request; a full disk is answered
 * 507 and told once, and recovers by itself; a corrupted file refuses to start.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { runCli, startCli } from './run.js';

const dirs: string[] = [];
const mounts: string[] = [];
afterEach(() => {
  for (const mount of mounts.splice(0)) execFileSync('umount', ['-l', mount]);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bamboo-faults-'));
  dirs.push(dir);
  return dir;
}

const json = { 'Content-Type': 'application/json' };

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; replayed: boolean } | null> {
  try {
    const response = await fetch(url, { method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify(body) });
    await response.arrayBuffer();
    return { status: response.status, replayed: response.headers.get('idempotent-replayed') === 'true' };
  } catch {
    return null;
  }
}

describe('SIGTERM under load', () => {
  it('finishes requests in flight and keeps their Idempotency-Key records: retries after a restart never duplicate', async () => {
    const db = join(folder(), 'bamboo.db');
    const first = await startCli([], { BAMBOO_DB: db, PORT: '0' });
    const created = await fetch(`${first.url}/api/v1/sessions`, { method: 'POST', headers: json, body: '{}' }).then((r) => r.json() as Promise<{ session: { id: string } }>);
    const id = created.session.id;
    const outcome = new Map<string, number | null>();
    let stop = false;
    const writer = async (w: number) => {
      for (let n = 0; !stop; n++) {
        const key = `w${w}-${n}`;
        const reply = await post(`${first.url}/api/v1/sessions/${id}/messages`, { content: key, resume: false }, { 'Idempotency-Key': key });
        outcome.set(key, reply?.status ?? null);
        if (!reply) return;
      }
    };
    const writers = Array.from({ length: 60 }, (_, w) => writer(w));
    await new Promise((resolve) => setTimeout(resolve, 400));
    const stopped = first.stop('SIGTERM');
    const finished = await stopped;
    stop = true;
    await Promise.all(writers);
    expect(finished.code).toBe(0);
    const acknowledged = [...outcome].filter(([, status]) => status === 201).map(([key]) => key);
    expect(acknowledged.length).toBeGreaterThan(60);

    const second = await startCli([], { BAMBOO_DB: db, PORT: '0' });
    // Every request retried with its key: the acknowledged ones replay, the others do the work once now.
    for (const key of outcome.keys()) {
      const reply = await post(`${second.url}/api/v1/sessions/${id}/messages`, { content: key, resume: false }, { 'Idempotency-Key': key });
      expect(reply?.status, key).toBe(201);
      if (acknowledged.includes(key)) expect(reply?.replayed, key).toBe(true);
    }
    const messages: string[] = [];
    for (let cursor: string | null = ''; cursor !== null; ) {
      const page = (await fetch(`${second.url}/api/v1/sessions/${id}/messages?limit=1000${cursor ? `&after=${cursor}` : ''}`).then((r) => r.json())) as {
        messages: { content: string }[];
        next_cursor: string | null;
      };
      messages.push(...page.messages.map((m) => m.content));
      cursor = page.next_cursor;
    }
    expect(messages.length).toBe(outcome.size);
    expect(new Set(messages).size).toBe(messages.length);
    await second.stop();
  }, 60_000);
});

/** A 2 MiB tmpfs to fill; null where this machine does not allow `mount` (the test then says so and stops). */
function smallDisk(): string | null {
  const dir = folder();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return null;
  }
  mounts.push(dir);
  return dir;
}

describe('a full disk', () => {
  it('is answered 507 insufficient_storage with readiness failing, logged once, and recovers when space comes back', async (context) => {
    const disk = smallDisk();
    if (!disk) {
      console.warn('faults.test.ts: `mount -t tmpfs` is not permitted here, so the disk-full test cannot run on this machine');
      context.skip();
      return;
    }
    const db = join(disk, 'bamboo.db');
    const server = await startCli([], { BAMBOO_DB: db, PORT: '0' });
    const session = await fetch(`${server.url}/api/v1/sessions`, { method: 'POST', headers: json, body: '{}' }).then((r) => r.json() as Promise<{ session: { id: string } }>);
    // Leave the database a little room, then fill it.
    const filler = join(disk, 'filler');
    const fd = openSync(filler, 'w');
    try {
      for (;;) writeSync(fd, Buffer.alloc(64 * 1024, 1));
    } catch {
      // The disk is full.
    } finally {
      closeSync(fd);
    }
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const reply = await post(`${server.url}/api/v1/sessions/${session.session.id}/messages`, { content: 'y'.repeat(50_000), resume: false });
      statuses.push(reply!.status);
    }
    expect(statuses).toContain(507);
    expect(statuses.filter((status) => status !== 201 && status !== 507)).toEqual([]);
    const refused = await fetch(`${server.url}/api/v1/sessions`, { method: 'POST', headers: json, body: '{}' });
    expect(refused.status).toBe(507);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('insufficient_storage');
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    rmSync(filler);
    await expect.poll(async () => (await fetch(`${server.url}/readyz`)).status, { timeout: 10_000 }).toBe(200);
    const again = await post(`${server.url}/api/v1/sessions/${session.session.id}/messages`, { content: 'after', resume: false });
    expect(again?.status).toBe(201);
    // Log lines reach stdout within a fifth of a second.
    await server.waitForEntry((entry) => String(entry.msg).startsWith('storage recovered'));
    const failing = server.entries().filter((entry) => String(entry.msg).startsWith('storage failing'));
    expect(failing).toHaveLength(1);
    expect(server.entries().filter((entry) => String(entry.msg).startsWith('storage recovered'))).toHaveLength(1);
    // No stack trace per failed request.
    expect(server.entries().filter((entry) => entry.level === 50)).toHaveLength(1);
    await server.stop();
  }, 60_000);
});

describe('a damaged file', () => {
  it('refuses to start with one line naming the file and how to recover, exit code 2', async () => {
    const dir = folder();
    mkdirSync(dir, { recursive: true });
    const db = join(dir, 'bamboo.db');
    const store = new SqliteStore(db);
    for (let i = 0; i < 200; i++) {
      await store.createSession(
        {
          info: { id: `ses_${i}`, tenant: 'default', title: 't'.repeat(200), agent: 'demo', system_prompt: null, metadata: {}, created_at: new Date().toISOString() },
          state: 'idle',
          snapshot: '{}',
          version: 1,
          last_event_seq: 1,
          message_count: 0,
          updated_at: new Date().toISOString(),
          lease_owner: null,
          lease_epoch: 0,
        },
        [{ seq: 1, type: 'session_created', session_id: `ses_${i}`, at: new Date().toISOString() }],
      );
    }
    await store.close();
    // Scribble over a page in the middle of the file.
    const size = statSync(db).size;
    const fd = openSync(db, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xab), 0, 4096, Math.floor(size / 4096 / 2) * 4096);
    closeSync(fd);

    const finished = await runCli([], { BAMBOO_DB: db, PORT: '0' });
    expect(finished.code, finished.stderr).toBe(2);
    expect(finished.stderr.trim().split('\n')).toHaveLength(1);
    expect(finished.stderr).toMatch(/BAMBOO_DB .*bamboo\.db is (damaged|not a readable SQLite database)/);
    expect(finished.stderr).toMatch(/backup|recover/);
    writeFileSync(join(dir, 'unused'), '');
  });
});
