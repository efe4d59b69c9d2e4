/**
 * A fresh PostgreSQL database for one scenario, on the local server at
 * 127.0.0.1:5432 (trust authentication, user `postgres`, as the test suites
 * use), dropped afterwards. When PostgreSQL does not answer the scenario
 * fails, saying how to start it: nothing is skipped.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const HOST = '127.0.0.1';
const PORT = 5432;
const ADMIN_URL = `postgres://postgres@${HOST}:${PORT}/postgres`;
const PREFIX = 'bamboo_bench_';

export const HOW_TO_START =
  'The PostgreSQL scenarios need PostgreSQL at 127.0.0.1:5432 with trust authentication for the user postgres. ' +
  'Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` (or `service postgresql start`), ' +
  'or leave those scenarios out with --only.';

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    const reason = (error as Error).message || (error as { code?: string }).code;
    throw new Error(`PostgreSQL does not answer at ${HOST}:${PORT} (${reason}). ${HOW_TO_START}`, { cause: error });
  }
  try {
    return await work(client);
  } finally {
    await client.end();
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

/** Drops databases of bench runs that died before their clean-up (their pid is in the name). */
async function sweepAbandoned(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${PREFIX}%`]);
  for (const { datname } of rows) {
    const pid = Number(new RegExp(`^${PREFIX}(\\d+)_`).exec(datname)?.[1]);
    if (Number.isInteger(pid) && !isAlive(pid)) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
  }
}

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** An empty database; the first instance to open it creates the schema. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `${PREFIX}${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin(async (client) => {
    await sweepAbandoned(client);
    await client.query(`CREATE DATABASE "${name}"`);
  });
  return {
    url: `postgres://postgres@${HOST}:${PORT}/${name}`,
    drop: () => admin(async (client) => void (await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))),
  };
}
