/**
 * One lean line per request at `info`: method, path, status, duration and a
 * request id; never headers or bodies, so nothing secret can reach the log.
 * Cheap enough for the default level: no child logger, no serializers.
 */
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';

declare module 'express-serve-static-core' {
  interface Request {
    /** The request's id: a caller's `X-Request-Id` when it is sane, else a fresh one. */
    id: string;
    log: Logger;
  }
}

const CALLER_ID = /^[\w.:-]{1,64}$/;

export function requestLog(logger: Logger, { ignore }: { ignore?: (path: string) => boolean } = {}): RequestHandler {
  const enabled = logger.isLevelEnabled('info');
  let counter = 0;
  const prefix = Date.now().toString(36);
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    req.id = typeof given === 'string' && CALLER_ID.test(given) ? given : `${prefix}-${(++counter).toString(36)}`;
    req.log = logger;
    res.setHeader('X-Request-Id', req.id);
    // Read now: routers rewrite `req.path` to their own mount while the request is handled.
    const path = req.path;
    if (enabled && !ignore?.(path)) {
      const started = performance.now();
      res.on('close', () => {
        logger.info({ req_id: req.id, method: req.method, path, status: res.statusCode, ms: Math.round((performance.now() - started) * 100) / 100 }, 'request');
      });
    }
    next();
  };
}
