/** What a PostgreSQL test opens, closed after it (last first), and its own database. Call at a suite file's top level. */
import { afterEach } from 'vitest';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface PerTest {
  /** Runs `cleanup` after the test, before what was registered earlier. */
  later(cleanup: () => Promise<unknown>): void;
  /** A fresh database, dropped after the test. */
  database(options?: { empty?: boolean }): Promise<TestDatabase>;
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
  };
}
