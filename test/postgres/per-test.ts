/** What a PostgreSQL test opens, closed after it (last first), and its own database. Call at a suite file's top level. */
import pg from 'pg';
import { afterEach } from 'vitest';
import { PgStore, type PgStoreOptions } from '../../src/storage/postgres/pg-store.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface PerTest {
  /** Runs `cleanup` after the test, before what was registered earlier. */
  later(cleanup: () => Promise<unknown>): void;
  /** A fresh database, dropped after the test. */
  database(options?: { empty?: boolean }): Promise<TestDatabase>;
  /** A store on `url` (one instance, `writer-a`, 2 connections unless `options` say otherwise), closed after the test. */
  store(url: string, options?: PgStoreOptions): Promise<PgStore>;
  /** A connection of another instance, to hold rows or tables while the store works; closed after the test. */
  connection(url: string): Promise<pg.Client>;
}

export function perTest(): PerTest {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const later = (cleanup: () => Promise<unknown>) => void cleanups.push(cleanup);
  return {
    later,
    async database(options = {}) {
      const db = await createTestDatabase(options);
      later(() => db.drop());
      return db;
    },
    async store(url, options = {}) {
      const store = await PgStore.open(url, { max: 2, instanceId: 'writer-a', ...options });
      later(() => store.close());
      return store;
    },
    async connection(url) {
      const connection = new pg.Client({ connectionString: url });
      await connection.connect();
      later(() => connection.end());
      return connection;
    },
  };
}
