/**
 * Scenario 6b's seeding: grows a SQLite file to `total` stored sessions. The
 * first session is created by the runtime; the rest copy its row and its
 * events (ids swapped) in one bulk transaction, which is what makes a
 * million sessions affordable inside the run.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { createDemoAgent } from '../../dist/src/agents/demo.js';
import { newSessionId } from '../../dist/src/domain/ids.js';
import { createRuntime, type SessionRuntime } from '../../dist/src/runtime/runtime.js';
import { SqliteStore } from '../../dist/src/storage/sqlite/sqlite-store.js';
import { serve } from '../lib/serve.js';

export interface SeedInput {
  dbPath: string;
  total: number;
}

export interface SeedResult {
  added: number;
  total: number;
  elapsedMs: number;
}

interface TemplateRow {
  id: string;
  [column: string]: unknown;
}

interface Template {
  row: TemplateRow;
  events: { seq: number; data: string }[];
}

/**
 * The session every seeded row copies, as the runtime created it. Kept beside
 * the file: measurements later change stored sessions, this copy stays fresh.
 */
async function template(dbPath: string): Promise<Template> {
  const file = `${dbPath}.template.json`;
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Template;
  const runtime = createRuntime({ store: new SqliteStore(dbPath), agents: new Map([['demo', createDemoAgent({ tokenDelayMs: 0 })]]), defaultAgent: 'demo' });
  await runtime.start();
  const { id } = await runtime.createSession({ title: 'seeded' });
  await runtime.shutdown();
  const db = new Database(dbPath, { readonly: true });
  const made: Template = {
    row: db.prepare('SELECT * FROM sessions WHERE id = ?').get(id) as TemplateRow,
    events: db.prepare('SELECT seq, data FROM events WHERE session_id = ? ORDER BY seq').all(id) as Template['events'],
  };
  db.close();
  writeFileSync(file, JSON.stringify(made));
  return made;
}

const api = {
  async seed({ dbPath, total }: SeedInput): Promise<SeedResult> {
    const start = performance.now();
    const { row: model, events } = await template(dbPath);
    const db = new Database(dbPath);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Random ids land all over the id index: a cache that holds it avoids re-reading pages.
    db.pragma('cache_size = -1000000');
    const columns = Object.keys(model).filter((column) => column !== 'ordinal');
    const insertSession = db.prepare(`INSERT INTO sessions (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`);
    const insertEvent = db.prepare('INSERT INTO events (session_id, seq, data) VALUES (?, ?, ?)');
    const current = db.prepare('SELECT COUNT(*) FROM sessions').pluck().get() as number;
    const added = Math.max(0, total - current);
    db.transaction(() => {
      for (let i = 0; i < added; i++) {
        const id = newSessionId();
        const row: Record<string, unknown> = {};
        for (const column of columns) {
          const value = model[column];
          row[column] = typeof value === 'string' ? value.replaceAll(model.id, id) : value;
        }
        insertSession.run(row);
        for (const event of events) insertEvent.run(id, event.seq, event.data.replaceAll(model.id, id));
      }
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    return { added, total: current + added, elapsedMs: performance.now() - start };
  },
};
export type SeedApi = typeof api;

serve(api);
