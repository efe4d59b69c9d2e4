/** The server's logger: readable on a terminal, JSON lines otherwise, secrets redacted either way. */
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

export function createLogger(
  config: Pick<Config, 'BAMBOO_LOG_LEVEL' | 'BAMBOO_LOG_FORMAT'>,
  out: NodeJS.WriteStream = process.stdout,
): Logger {
  const options = { level: config.BAMBOO_LOG_LEVEL, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  // Synchronous writes: the last lines before `process.exit` (a fatal error, shutdown) must not be lost.
  if (logFormat(config, out) === 'json') return pino(options, out === process.stdout ? pino.destination({ dest: 1, sync: true }) : out);
  // NO_COLOR (https://no-color.org) turns colours off, also on a terminal.
  return pino(options, prettyStream(out, Boolean(out.isTTY) && !process.env.NO_COLOR));
}
