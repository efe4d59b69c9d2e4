/** The PostgreSQL adapter: the shared storage contract, each test on a database of its own. */
import { afterEach } from 'vitest';
import { PgStore } from '../../src/storage/postgres/pg-store.js';
import { createTestDatabase, type TestDatabase } from '../postgres/database.js';
import { describeStoreContract } from './store.contract.js';

const databases: TestDatabase[] = [];

// Runs after the contract's own afterEach, which closes the store.
afterEach(async () => {
  for (const database of databases.splice(0)) await database.drop();
});

describeStoreContract('PostgreSQL', async () => {
  const database = await createTestDatabase();
  databases.push(database);
  return PgStore.open(database.url, { max: 4 });
});
