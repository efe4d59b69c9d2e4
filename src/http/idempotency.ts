/**
 * `Idempotency-Key`: the same key with the same method, path and body bytes
 * gets the first (2xx) response again without the work being redone, also
 * when the two requests race; the same key with anything else is a conflict.
 * Records are durable (the store) and kept at least 24 h.
 */
import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { SessionError } from '../domain/errors.js';
import { now } from '../domain/ids.js';
import type { Store } from '../storage/store.js';
import { idempotencyKey, parse } from './validation.js';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * `assertTarget` throws when the request's target does not exist (a missing
 * session): it runs before a conflict is reported, because 404 wins over 409.
 */
export function idempotency(store: Store, assertTarget: (req: Request) => Promise<void> = async () => undefined): RequestHandler {
  /** Keys whose first request is still being handled, so a racing duplicate waits for it. */
  const inFlight = new Map<string, Promise<void>>();

  return async (req, res, next) => {
    const header = req.get('Idempotency-Key');
    if (header === undefined) return next();
    const key = parse(idempotencyKey, header, 'Idempotency-Key');
    const path = req.originalUrl.split('?')[0];
    const bodyHash = createHash('sha256').update(req.rawBody ?? Buffer.alloc(0)).digest('hex');

    // Waiters wake together when a first request ends; if it kept nothing (it failed), one of them claims the key and the rest wait again.
    for (;;) {
      while (inFlight.has(key)) await inFlight.get(key);
      const stored = await store.getIdempotency(key);
      if (stored) {
        if (stored.method !== req.method || stored.path !== path || stored.bodyHash !== bodyHash) {
          await assertTarget(req);
          throw new SessionError('idempotency_conflict', 'Idempotency-Key was already used with another request');
        }
        res.status(stored.status).setHeader('Idempotent-Replayed', 'true').type('application/json').send(stored.body);
        return;
      }
      if (!inFlight.has(key)) break;
    }

    let release!: () => void;
    inFlight.set(key, new Promise<void>((resolve) => (release = resolve)));
    captureSuccess(res, async (status, body) => {
      await store.putIdempotency({ key, method: req.method, path, bodyHash, status, body, createdAt: now() });
    }).finally(() => {
      inFlight.delete(key);
      release();
    });
    next();
  };
}

/** Calls `keep` with a 2xx JSON response before it is sent; resolves once the response is done either way. */
function captureSuccess(res: Response, keep: (status: number, body: string) => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      if (res.statusCode < 200 || res.statusCode > 299) return json(body);
      const text = JSON.stringify(body);
      // Stored before it is sent: a duplicate that arrives after the client saw the answer must find it.
      keep(res.statusCode, text).then(
        () => json(body),
        (error: unknown) => {
          res.req.log?.error({ err: error }, 'could not store the idempotent response');
          json(body);
        },
      );
      return res;
    };
    res.on('close', () => resolve());
  });
}
