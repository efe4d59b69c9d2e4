/**
 * Connecting to PostgreSQL: what a `postgres://` URL must hold, how it is shown
 * (never with its password), the pool, and the translation of the driver's
 * connection failures into the port's `StorageUnavailable`.
 */
import pg from 'pg';
import { StorageUnavailable } from '../store.js';

/** True for anything meant as a PostgreSQL URL (`postgres:` or `postgresql:`), well-formed or not. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:/i.test(db.trim());
}

/** The URL with its password replaced by `***`; for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not parseable: cut anything between `//user:` and `@`, where a password would be.
    return url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
  }
}

/** Why `url` is not a usable `postgres://user[:password]@host:port/database`, or null when it is. */
export function postgresUrlProblem(url: string): string | null {
  if (!/^postgres(ql)?:\/\//i.test(url)) return 'must start with postgres:// or postgresql://';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a valid URL';
  }
  if (!parsed.hostname) return 'names no host';
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) return 'names no database (the path after the host)';
  if (database.includes('/')) return 'has more than one path segment; the path is the database name';
  return null;
}

export interface PoolOptions {
  /** Connections at most. Default 10. */
  max?: number;
  /** Called with errors of idle connections (a restarting server); they must not crash the process. */
  onIdleError?: (error: Error) => void;
}

/** How long a request waits for a connection before the store answers `unreachable`. */
export const CONNECT_TIMEOUT_MS = 5_000;

export function clientConfig(url: string): pg.ClientConfig {
  return {
    connectionString: url,
    application_name: 'bamboo-server',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // A peer that vanished without closing the connection is noticed by the kernel, not only at the next query.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

export function createPool(url: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(url), max: options.max ?? 10, idleTimeoutMillis: 30_000 });
  pool.on('error', (error) => options.onIdleError?.(error));
  return pool;
}

/** SQLSTATEs of a server that is going away, starting, or refusing more connections. */
const UNREACHABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '58000', '58030']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
/** The driver's own words for a connection it lost or could not get; these errors carry no code. */
const DRIVER_MESSAGES = /Connection terminated|Client has encountered a connection error|not queryable|Connection refused/i;
/** pg-pool's words when every connection of the pool stayed in use while a caller waited: load, not an outage. */
const POOL_BUSY = /timeout exceeded when trying to connect/i;

/** The failure as `StorageUnavailable` when the database could not be reached or is full; otherwise null. */
export function unavailability(error: unknown): StorageUnavailable | null {
  if (error instanceof StorageUnavailable) return error;
  if (typeof error !== 'object' || error === null) return null;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : '';
  if (code === '53100') return new StorageUnavailable('full', `PostgreSQL has no space left: ${text}`, { cause: error });
  if (POOL_BUSY.test(text)) return new StorageUnavailable('busy', `every PostgreSQL connection of this instance stayed in use: ${text}`, { cause: error });
  const unreachable =
    (typeof code === 'string' && (code.startsWith('08') || UNREACHABLE_STATES.has(code) || NETWORK_CODES.has(code))) ||
    (error instanceof AggregateError && error.errors.some((inner) => unavailability(inner) !== null)) ||
    DRIVER_MESSAGES.test(text);
  return unreachable ? new StorageUnavailable('unreachable', `PostgreSQL is unreachable: ${text || String(code)}`, { cause: error }) : null;
}
