/**
 * A fresh PostgreSQL database per test, on the local server at 127.0.0.1:5432
 * (trust authentication, user `postgres`), dropped afterwards. When the server
 * does not answer, the suite fails, saying how to start it: nothing is skipped.
 */
import pg from 'pg';
import { afterAll } from 'vitest';
import { PgStore } from '../../src/storage/postgres/pg-store.js';
import { pgAdmin, urlOf } from './admin.js';

export { PG_HOST, PG_PORT, urlOf } from './admin.js';

const admin = pgAdmin({
  prefix: 'bamboo_test_',
  howToStart:
    'The PostgreSQL suites need PostgreSQL at 127.0.0.1:5432 with trust authentication for the user postgres. ' +
    'Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` (or `service postgresql start`); ' +
    '.ci/run starts it by itself.',
});

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A database with the schema already in place, copied for each test: several
 * times faster than creating and migrating one. Made once per test file.
 */
let template: Promise<string> | null = null;

function migratedTemplate(): Promise<string> {
  template ??= (async () => {
    const name = admin.freshName();
    await admin.create(name);
    await (await PgStore.open(urlOf(name), { max: 1 })).close();
    return name;
  })();
  return template;
}

/** The next test's database, copied while the current test runs: copies are bound by the disk, tests mostly are not. */
let spare: Promise<string> | null = null;

function copyOfTemplate(): Promise<string> {
  const copy = migratedTemplate().then(async (from) => {
    const name = admin.freshName();
    await admin.create(name, from);
    return name;
  });
  copy.catch(() => undefined);
  return copy;
}

afterAll(async () => {
  const names = await Promise.all([spare, template].map((pending) => pending?.catch(() => null)));
  spare = template = null;
  for (const name of names) if (name) await admin.drop(name);
});

/**
 * Creates a database of its own for one test, with the store's schema in
 * place, or `empty` (for tests of the migrations themselves); `drop` removes
 * it, closing any connection still open to it.
 */
export async function createTestDatabase({ empty = false }: { empty?: boolean } = {}): Promise<TestDatabase> {
  let name: string;
  if (empty) {
    name = admin.freshName();
    await admin.create(name);
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
      await admin.drop(name);
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
