/**
 * The server under test, in its own process, run as a user runs it: the
 * CLI's default settings and its logger (level `info`; JSON lines, since the
 * parent points this process's stdout at a file, as `npm start > server.log`
 * would), the store opened as the CLI opens it (a SQLite file, or PostgreSQL
 * with its event feed), and createServer as the CLI calls it. Differences:
 * a free port, the demo agent at 0 ms pacing, and the bench agent registered.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createLogger } from '../../dist/src/cli/logger.js';
import { limitsOf } from '../../dist/src/cli/commands/serve.js';
import { resolveConfig } from '../../dist/src/cli/config.js';
import { defaultInstanceId } from '../../dist/src/runtime/runtime.js';
import { type BambooServer, createServer } from '../../dist/src/server.js';
import { openStore } from '../../dist/src/storage/open-store.js';
import { PgStore } from '../../dist/src/storage/postgres/pg-store.js';
import { BENCH_AGENT, createBenchAgent } from '../lib/bench-agent.js';
import { countRoundTrips, type RoundTrips } from '../lib/round-trips.js';
import { serve } from '../lib/serve.js';

export interface StartInput {
  /** The folder of the SQLite file, when `db` is not given. */
  dir: string;
  /** A `postgres://` URL: this process is one instance on that database. */
  db?: string;
  instanceId?: string;
  /** Count round trips to PostgreSQL (see round-trips.ts). */
  countRoundTrips?: boolean;
}

let server: BambooServer | undefined;
let logger: Logger | undefined;
let counter: ReturnType<typeof countRoundTrips> | undefined;

const api = {
  async start(input: StartInput): Promise<{ url: string; pid: number }> {
    // The CLI's defaults; the environment is left out, so every run measures the same configuration.
    const config = resolveConfig({}, process.env.BENCH_LOG_LEVEL ? { BAMBOO_LOG_LEVEL: process.env.BENCH_LOG_LEVEL } : {});
    const instanceId = input.instanceId ?? defaultInstanceId();
    logger = createLogger(config, process.stdout, instanceId);
    const log = logger;
    process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
    const { store, feed } = await openStore(input.db ?? join(input.dir, 'bamboo.db'), { instanceId, logger });
    if (input.countRoundTrips) {
      if (!(store instanceof PgStore)) throw new Error('Round trips are counted on PostgreSQL only');
      counter = countRoundTrips(store);
    }
    server = await createServer({
      store,
      feed: feed ?? undefined,
      instanceId,
      leaseMs: config.BAMBOO_LEASE_MS,
      maxLiveActors: config.BAMBOO_MAX_LIVE_ACTORS,
      maxQueued: config.BAMBOO_MAX_QUEUED,
      shutdownGraceMs: config.BAMBOO_SHUTDOWN_GRACE_MS,
      // The limits as the CLI passes them, so the bench follows its defaults.
      limits: limitsOf(config),
      port: 0,
      host: '127.0.0.1',
      tokenDelayMs: 0,
      logger,
      agents: { [BENCH_AGENT]: createBenchAgent() },
    });
    logger.info({ url: server.url, store: store.location, storeKind: store.kind, instance: instanceId }, `listening on ${server.url}`);
    return { url: server.url, pid: process.pid };
  },
  async memory(): Promise<NodeJS.MemoryUsage> {
    return process.memoryUsage();
  },
  async roundTrips(): Promise<RoundTrips> {
    if (!counter) throw new Error('started without countRoundTrips');
    return counter.read();
  },
  async resetRoundTrips(): Promise<void> {
    counter?.reset();
  },
};
export type BambooServerApi = typeof api;

serve(api, async () => {
  const interrupted = await server?.close();
  logger?.info({ interrupted: interrupted?.length ?? 0 }, 'stopped');
});
