/**
 * Connecting to PostgreSQL: what a `postgres://` URL must hold, how it is shown
 * (never with its password), the pool, the limits on every statement, and the
 * translation of the driver's connection failures and timeouts into the port's
 * `StorageUnavailable`.
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

/** A database setting as it may be shown: a PostgreSQL URL without its password, a SQLite path as it is. */
export function shownDatabase(db: string): string {
  return isPostgresUrl(db) ? redactUrl(db) : db;
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

export const DEFAULT_POOL_SIZE = 10;

export interface PoolOptions {
  /** Connections at most. Default `DEFAULT_POOL_SIZE`. */
  max?: number;
  /** Called with errors of idle connections (a restarting server); they must not crash the process. */
  onIdleError?: (error: Error) => void;
  /** The limit on one statement. Default `STATEMENT_TIMEOUT_MS`; tests shorten it. */
  statementTimeoutMs?: number;
}

/** How long a request waits for a connection before the store answers `unreachable`. */
export const CONNECT_TIMEOUT_MS = 5_000;

/**
 * The limit on one statement of a request, a run's commit, a lease renewal or
 * recovery, enforced by the server (`statement_timeout`, lock waits included).
 * They take milliseconds; one that takes seconds waits on a lock held
 * elsewhere or on a server that cannot keep up, and its caller is better
 * answered 503 than held: as long as a request may wait for a connection, and
 * under the 80 % of the default 10 s lease after which unrenewed runs stop.
 * Not a setting: nothing the server runs on its path needs more.
 */
export const STATEMENT_TIMEOUT_MS = 5_000;

/**
 * The limit on a statement of upkeep (retention, purges, counting every
 * session, deleting a session with its log), mostly off the request path,
 * which in a large database may pass the ordinary one: set for its own
 * transaction only (`SET LOCAL`).
 */
export const MAINTENANCE_TIMEOUT_MS = 60_000;

/**
 * How long past its statement's limit an answer may take (the round trip, the
 * commit's flush) before the client gives the connection up as dead: the
 * server's limit cannot fire for a server that stalled or a network that
 * drops every packet.
 */
export const ANSWER_MARGIN_MS = 5_000;

/**
 * The server ends a session idle inside a transaction this long, releasing its
 * locks. Only migrations and upkeep open one, and they send each statement
 * right after the last: an idle one has lost its client.
 */
const IDLE_IN_TRANSACTION_MS = 10_000;

/**
 * A connection's settings, and the limits the server keeps on its statements,
 * sent at start-up. A pooler that refuses these start-up parameters
 * (PgBouncer) is told to ignore them, and the limits are set on the role instead.
 */
export function clientConfig(url: string, statementTimeoutMs = STATEMENT_TIMEOUT_MS): pg.ClientConfig {
  return {
    connectionString: url,
    application_name: 'bamboo-server',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // A peer that vanished without closing the connection is noticed by the kernel, not only at the next query.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    statement_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
  };
}

/**
 * The pool's connections also give up on an answer of their own accord
 * (`query_timeout`), a margin past the server's limit: the pool then drops the
 * connection, whose state is unknown.
 */
export function createPool(url: string, options: PoolOptions = {}): pg.Pool {
  const statementTimeoutMs = options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS;
  const pool = new pg.Pool({
    ...clientConfig(url, statementTimeoutMs),
    query_timeout: statementTimeoutMs + ANSWER_MARGIN_MS,
    max: options.max ?? DEFAULT_POOL_SIZE,
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', (error) => options.onIdleError?.(error));
  return pool;
}

/**
 * One statement of upkeep, which may scan or delete much: in a transaction of
 * its own, with `MAINTENANCE_TIMEOUT_MS` for its limit (three round trips,
 * hourly at most); a wait for a lock stays bounded by `lockTimeoutMs`.
 */
export async function runLong<R extends pg.QueryResultRow>(pool: pg.Pool, statement: pg.QueryConfig, lockTimeoutMs: number): Promise<pg.QueryResult<R>> {
  let failed = false;
  const client = await pool.connect().catch((error: unknown) => {
    throw unavailability(error) ?? error;
  });
  try {
    await client.query(`BEGIN; SET LOCAL statement_timeout = ${MAINTENANCE_TIMEOUT_MS}; SET LOCAL lock_timeout = ${lockTimeoutMs}`);
    // The driver reads `query_timeout` per query too, though its types leave it out.
    const result = await client.query<R>({ ...statement, query_timeout: MAINTENANCE_TIMEOUT_MS + ANSWER_MARGIN_MS } as pg.QueryConfig);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    failed = true;
    throw unavailability(error) ?? error;
  } finally {
    // A connection whose transaction failed midway is dropped, not reused, as the pool drops its own.
    client.release(failed);
  }
}

/** SQLSTATEs of a server that is going away, starting, or refusing more connections, or that ended a session left idle in a transaction. */
const UNREACHABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '58000', '58030', '25P03']);
/** A statement cancelled past its limit (`statement_timeout`, or by an administrator), or a lock not granted within `lock_timeout`. */
const TIMED_OUT_STATES = new Set(['57014', '55P03']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
/** Failures to get a connection at all: no statement was sent, so none can have been committed. */
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', '57P03', '53300']);
/** The driver's words when a new connection did not open in time. */
const CONNECT_TIMEOUT = /due to connection timeout/i;
/** The driver's own words for a connection it lost or could not get; these errors carry no code. */
const DRIVER_MESSAGES = /Connection terminated|Client has encountered a connection error|not queryable|Connection refused/i;
/** pg-pool's words when every connection of the pool stayed in use while a caller waited: load, not an outage. */
const POOL_BUSY = /timeout exceeded when trying to connect/i;
/** The driver's words when no answer came within `query_timeout`: the server or the network is gone. */
const NO_ANSWER = /Query read timeout/i;

/** The failure as `StorageUnavailable` when the database could not be reached or is full; otherwise null. */
export function unavailability(error: unknown): StorageUnavailable | null {
  if (error instanceof StorageUnavailable) return error;
  if (typeof error !== 'object' || error === null) return null;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : '';
  if (code === '53100') return new StorageUnavailable('full', `PostgreSQL has no space left: ${text}`, { cause: error });
  if (POOL_BUSY.test(text)) return new StorageUnavailable('busy', `every PostgreSQL connection of this instance stayed in use: ${text}`, { cause: error });
  // The server answers, and undid the statement: a lock held elsewhere, or more work than it keeps up with.
  if (typeof code === 'string' && TIMED_OUT_STATES.has(code)) return new StorageUnavailable('busy', `PostgreSQL did not finish a statement in time: ${text}`, { cause: error });
  // The statement was sent: whether it committed is not known.
  if (NO_ANSWER.test(text)) return new StorageUnavailable('unreachable', `PostgreSQL did not answer in time: ${text}`, { cause: error, maybeWritten: true });
  const unreachable =
    (typeof code === 'string' && (code.startsWith('08') || UNREACHABLE_STATES.has(code) || NETWORK_CODES.has(code))) ||
    (error instanceof AggregateError && error.errors.some((inner) => unavailability(inner) !== null)) ||
    DRIVER_MESSAGES.test(text);
  if (!unreachable) return null;
  const neverConnected =
    (typeof code === 'string' && NEVER_CONNECTED.has(code)) ||
    CONNECT_TIMEOUT.test(text) ||
    (error instanceof AggregateError && error.errors.every((inner) => NEVER_CONNECTED.has(String((inner as { code?: unknown }).code))));
  return new StorageUnavailable('unreachable', `PostgreSQL is unreachable: ${text || String(code)}`, { cause: error, maybeWritten: !neverConnected });
}
