/**
 * A fresh PostgreSQL database per test, on the local server at 127.0.0.1:5432
 * (trust authentication, user `postgres`), dropped afterwards. When the server
 * does not answer, the suite fails, saying how to start it: nothing is skipped.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';
import { PgStore } from '../../src/storage/postgres/pg-store.js';

export const PG_HOST = '127.0.0.1';
export const PG_PORT = 5432;
const ADMIN_URL = `postgres://postgres@${PG_HOST}:${PG_PORT}/postgres`;
const PREFIX = 'bamboo_test_';

export const HOW_TO_START =
  'The PostgreSQL suites need PostgreSQL at 127.0.0.1:5432 with trust authentication for the user postgres. ' +
  'Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` (or `service postgresql start`); ' +
  '.ci/run starts it by itself.';

export function urlOf(database: string, { host = PG_HOST, port = PG_PORT, password }: { host?: string; port?: number; password?: string } = {}): string {
  return `postgres://postgres${password ? `:${password}` : ''}@${host}:${port}/${database}`;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new Error(`PostgreSQL does not answer at ${PG_HOST}:${PG_PORT} (${(error as Error).message || (error as { code?: string }).code}). ${HOW_TO_START}`, {
      cause: error,
    });
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

let swept = false;

/** Drops databases left by test processes that died before their clean-up (their pid is in the name). */
async function sweepAbandoned(client: pg.Client): Promise<void> {
  if (swept) return;
  swept = true;
  const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${PREFIX}%`]);
  for (const { datname } of rows) {
    const pid = Number(/^bamboo_test_(\d+)_/.exec(datname)?.[1]);
    if (!Number.isInteger(pid) || isAlive(pid)) continue;
    await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function freshName(): string {
  return `${PREFIX}${process.pid}_${randomBytes(5).toString('hex')}`;
}

/**
 * A database with the schema already in place, copied for each test: several
 * times faster than creating and migrating one. Made once per test file.
 */
let template: Promise<string> | null = null;

function migratedTemplate(): Promise<string> {
  template ??= (async () => {
    const name = freshName();
    await admin(async (client) => {
      await sweepAbandoned(client);
      await client.query(`CREATE DATABASE "${name}"`);
    });
    await (await PgStore.open(urlOf(name), { max: 1 })).close();
    return name;
  })();
  return template;
}

/** The next test's database, copied while the current test runs: copies are bound by the disk, tests mostly are not. */
let spare: Promise<string> | null = null;

function copyOfTemplate(): Promise<string> {
  const copy = migratedTemplate().then(async (from) => {
    const name = freshName();
    await admin((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE "${from}"`));
    return name;
  });
  copy.catch(() => undefined);
  return copy;
}

afterAll(async () => {
  const names = await Promise.all([spare, template].map((pending) => pending?.catch(() => null)));
  spare = template = null;
  for (const name of names) if (name) await admin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
});

/**
 * Creates a database of its own for one test, with the store's schema in
 * place, or `empty` (for tests of the migrations themselves); `drop` removes
 * it, closing any connection still open to it.
 */
export async function createTestDatabase({ empty = false }: { empty?: boolean } = {}): Promise<TestDatabase> {
  let name: string;
  if (empty) {
    name = freshName();
    await admin(async (client) => {
      await sweepAbandoned(client);
      await client.query(`CREATE DATABASE "${name}"`);
    });
  } else {
    name = await (spare ?? copyOfTemplate());
    spare = copyOfTemplate();
  }
  let dropped = false;
  return {
    name,
    url: urlOf(name),
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await admin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** Runs one statement in `url`'s database on a connection of its own. */
export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}
