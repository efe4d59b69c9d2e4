/**
 * `Idempotency-Key`: the same key (per tenant) with the same method, path and
 * body bytes gets the first (2xx) response again without the work being
 * redone, also when the two requests race, on one instance or two; the same
 * key with anything else is a conflict. The response is stored in the same
 * transaction as the change it acknowledges, so no crash can keep one without
 * the other. Records are kept at least 24 h.
 */
import { createHash } from 'node:crypto';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { SessionError } from '../domain/errors.js';
import { now } from '../domain/ids.js';
import { IdempotencyKeyTaken, type IdempotencyRecord, type IdempotencyStore } from '../storage/store.js';
import type { Presented } from './outcomes.js';
import { idempotencyKey, parse } from './validation.js';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

declare module 'express-serve-static-core' {
  interface Request {
    /** Set on a request with an Idempotency-Key: renders the record its response is kept as. */
    idempotency?: (response: Presented) => IdempotencyRecord;
  }
}

interface Fingerprint {
  tenant: string;
  key: string;
  method: string;
  path: string;
  bodyHash: string;
}

export interface Idempotency {
  /** Before the handler: replays a stored response, or marks the request so its response is stored with its change. */
  guard: RequestHandler;
  /** After the handler: another request stored the key first (on another instance); answer with its response. */
  replayOnRace: ErrorRequestHandler;
}

/**
 * `assertTarget` throws when the request's target does not exist (a missing
 * session): it runs before a conflict is reported, because 404 wins over 409.
 */
export function idempotency(store: IdempotencyStore, assertTarget: (req: Request) => Promise<void>): Idempotency {
  /** Keys whose first request is still being handled here, so a racing duplicate waits for it. */
  const inFlight = new Map<string, Promise<void>>();

  async function replayStored(req: Request, res: Response, print: Fingerprint): Promise<boolean> {
    const stored = await store.getIdempotency(print.tenant, print.key);
    if (!stored) return false;
    if (stored.method !== print.method || stored.path !== print.path || stored.bodyHash !== print.bodyHash) {
      await assertTarget(req);
      throw new SessionError('idempotency_conflict', 'Idempotency-Key was already used with another request');
    }
    res.status(stored.status).setHeader('Idempotent-Replayed', 'true').type('application/json').send(stored.body);
    return true;
  }

  const guard: RequestHandler = async (req, res, next) => {
    const header = req.get('Idempotency-Key');
    if (header === undefined) return next();
    const print: Fingerprint = {
      tenant: req.tenant,
      key: parse(idempotencyKey, header, 'Idempotency-Key'),
      method: req.method,
      path: req.originalUrl.split('?')[0],
      bodyHash: createHash('sha256').update(req.rawBody ?? Buffer.alloc(0)).digest('hex'),
    };
    const slot = `${print.tenant}\u0000${print.key}`;
    // Waiters wake together when a first request ends; if it kept nothing (it failed), one of them claims the key.
    for (;;) {
      while (inFlight.has(slot)) await inFlight.get(slot);
      if (await replayStored(req, res, print)) return;
      if (!inFlight.has(slot)) break;
    }
    let release!: () => void;
    inFlight.set(slot, new Promise<void>((resolve) => (release = resolve)));
    res.on('close', () => {
      inFlight.delete(slot);
      release();
    });
    req.idempotency = ({ status, body }) => ({ ...print, status, body: JSON.stringify(body), createdAt: now() });
    next();
  };

  const replayOnRace: ErrorRequestHandler = async (error, req, res, next) => {
    const taken = error instanceof IdempotencyKeyTaken;
    // Racing on another instance, the first request may win the session's version rather than the key: this one,
    // re-evaluated against the new state, is refused. The first one's response is stored by then; it is the answer.
    const refused = !taken && error instanceof SessionError && req.idempotency !== undefined;
    if (!taken && !refused) return next(error);
    try {
      const key = taken ? error.key : parse(idempotencyKey, req.get('Idempotency-Key')!, 'Idempotency-Key');
      const print = { tenant: taken ? error.tenant : req.tenant, key, method: req.method, path: req.originalUrl.split('?')[0] };
      const bodyHash = createHash('sha256').update(req.rawBody ?? Buffer.alloc(0)).digest('hex');
      if (await replayStored(req, res, { ...print, bodyHash })) return;
      next(taken ? new SessionError('unavailable', 'The request raced another with the same Idempotency-Key; retry it') : error);
    } catch (replayError) {
      next(replayError);
    }
  };

  return { guard, replayOnRace };
}
