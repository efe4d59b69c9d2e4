/** The PostgreSQL adapter: the shared storage contract, each test on a database of its own. */
import { afterAll, afterEach } from 'vitest';
import { PgStore } from '../../src/storage/postgres/pg-store.js';
import { createTestDatabase, type TestDatabase } from '../postgres/database.js';
import { describeStoreContract } from './store.contract.js';

const open: TestDatabase[] = [];
const dropping: Promise<void>[] = [];

// Runs after the contract's own afterEach, which closes the store. A drop waits for a checkpoint: the next tests need not.
afterEach(() => {
  for (const database of open.splice(0)) dropping.push(database.drop());
});

afterAll(async () => {
  await Promise.all(dropping);
});

describeStoreContract('PostgreSQL', async () => {
  const database = await createTestDatabase();
  open.push(database);
  return PgStore.open(database.url, { max: 4 });
});
