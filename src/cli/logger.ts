/** The server's logger: readable on a terminal, JSON lines otherwise, secrets redacted either way. */
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';
import { prettyStream } from './pretty.js';
import { SETTINGS, type Config, type Setting } from './settings.js';

/**
 * Paths pino replaces with `[redacted]`: credentials in request headers (as
 * pino-http logs them) and every secret setting, should the configuration be
 * logged under `config`.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  ...(SETTINGS as readonly Setting[]).filter((entry) => entry.secret).map((entry) => `config.${entry.variable}`),
];

export type LogFormat = 'pretty' | 'json';

export function logFormat(config: Pick<Config, 'BAMBOO_LOG_FORMAT'>, out: { isTTY?: boolean }): LogFormat {
  return config.BAMBOO_LOG_FORMAT ?? (out.isTTY ? 'pretty' : 'json');
}

/** How long a line may wait in the buffer: a quiet server's lines still appear at once, to the eye. */
const FLUSH_EVERY_MS = 200;

/**
 * Standard output, written in blocks of 4 KiB or every 200 ms, whichever
 * comes first: one system call per request line would cost a busy server a
 * tenth of its throughput. pino flushes the rest when the process exits
 * (a fatal error, a shutdown, a signal); a SIGKILL loses at most 200 ms.
 */
function bufferedStdout() {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => destination.flush(), FLUSH_EVERY_MS).unref();
  return destination;
}

/**
 * Exits with `code` once the log's buffer is written, or after `waitMs` (a
 * reader that stopped reading). The write is asynchronous on purpose: on a
 * stdout whose reader has gone (`| head`, a crashed log shipper) it fails
 * with EPIPE, and pino then stops writing; left to the exit's synchronous
 * flush, the same write would be retried forever and the process never end.
 */
export function exitAfterLogs(logger: Logger, code: number, waitMs = 1_000): void {
  setTimeout(() => process.exit(code), waitMs);
  logger.flush(() => process.exit(code));
}

/**
 * JSON lines carry `instance` (`BAMBOO_INSTANCE_ID`), so the logs of several
 * instances can be merged; readable lines, on one terminal, name it at start only.
 */
export function createLogger(
  config: Pick<Config, 'BAMBOO_LOG_LEVEL' | 'BAMBOO_LOG_FORMAT'>,
  out: NodeJS.WriteStream = process.stdout,
  instance?: string,
): Logger {
  const options = { level: config.BAMBOO_LOG_LEVEL, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  if (logFormat(config, out) === 'json') {
    const base = { pid: process.pid, hostname: hostname(), ...(instance ? { instance } : {}) };
    return pino({ ...options, base }, out === process.stdout ? bufferedStdout() : out);
  }
  // NO_COLOR (https://no-color.org) turns colours off, also on a terminal.
  return pino(options, prettyStream(out, Boolean(out.isTTY) && !process.env.NO_COLOR));
}
