/**
 * One setting, two stores: a file path (or `:memory:`) opens the embedded
 * SQLite store, held by this process alone; a `postgres://` URL opens the
 * shared PostgreSQL store, with the event feed that tells the instances
 * sharing it about each other's writes.
 */
import type { Logger } from 'pino';
import type { EventFeed } from '../runtime/ports.js';
import { isPostgresUrl } from './postgres/connection.js';
import { PgFeed } from './postgres/feed.js';
import { PgStore } from './postgres/pg-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { ServerStore } from './store.js';

export interface OpenStoreOptions {
  /** This instance, as the owner of its runs: the feed passes it the commands addressed to it. */
  instanceId: string;
  logger?: Logger;
  /** PostgreSQL connections at most. Default 10. */
  maxConnections?: number;
}

export interface OpenedStore {
  store: ServerStore;
  /** Null for SQLite: no other process shares the file. */
  feed: EventFeed | null;
}

export async function openStore(db: string, options: OpenStoreOptions): Promise<OpenedStore> {
  if (!isPostgresUrl(db)) return { store: new SqliteStore(db), feed: null };
  const { logger } = options;
  const store = await PgStore.open(db.trim(), {
    max: options.maxConnections,
    instanceId: options.instanceId,
    onIdleError: (err) => logger?.warn({ err }, 'a PostgreSQL connection failed while idle; it will be replaced'),
  });
  return { store, feed: new PgFeed(store, { instanceId: options.instanceId, logger }) };
}
