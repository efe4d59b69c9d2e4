/**
 * Databases of their own on the local PostgreSQL server at 127.0.0.1:5432
 * (trust authentication, user `postgres`), for the test suites and the
 * benchmark. When the server does not answer, the caller fails, saying how to
 * start it: nothing is skipped.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_HOST = '127.0.0.1';
export const PG_PORT = 5432;

export function urlOf(database: string, { host = PG_HOST, port = PG_PORT, password }: { host?: string; port?: number; password?: string } = {}): string {
  return `postgres://postgres${password ? `:${password}` : ''}@${host}:${port}/${database}`;
}

export interface PgAdmin {
  /** A name no database has yet, holding this process's pid. */
  freshName(): string;
  /** Creates `name` (a copy of `template`, if given). */
  create(name: string, template?: string): Promise<void>;
  /** Drops `name`, closing any connection still open to it. */
  drop(name: string): Promise<void>;
}

/**
 * Creates and drops databases named `prefix` + pid; the first creation drops
 * those left by processes of the same prefix that died before their clean-up.
 */
export function pgAdmin({ prefix, howToStart }: { prefix: string; howToStart: string }): PgAdmin {
  async function run<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: urlOf('postgres'), connectionTimeoutMillis: 5_000 });
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      const reason = (error as Error).message || (error as { code?: string }).code;
      throw new Error(`PostgreSQL does not answer at ${PG_HOST}:${PG_PORT} (${reason}). ${howToStart}`, { cause: error });
    }
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  let swept = false;
  async function sweepAbandoned(client: pg.Client): Promise<void> {
    if (swept) return;
    swept = true;
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [prefix]);
    for (const { datname } of rows) {
      const pid = Number(/^(\d+)_/.exec(datname.slice(prefix.length))?.[1]);
      if (Number.isInteger(pid) && !isAlive(pid)) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
    }
  }

  return {
    freshName: () => `${prefix}${process.pid}_${randomBytes(5).toString('hex')}`,
    create: (name, template) =>
      run(async (client) => {
        await sweepAbandoned(client);
        await client.query(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`);
      }),
    drop: (name) => run(async (client) => void (await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))),
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}
