/** Liveness, readiness and metrics. */
import { Router } from 'express';
import { SessionError } from '../../domain/errors.js';
import type { SessionRuntime } from '../../runtime/runtime.js';
import { methodNotAllowed } from '../errors.js';
import type { Metrics } from '../metrics.js';

export function serviceRouter(runtime: SessionRuntime, metrics: Metrics): Router {
  const router = Router();
  router
    .route('/healthz')
    .get((_req, res) => {
      res.json({ ok: true });
    })
    .all(methodNotAllowed(['GET']));
  router
    .route('/readyz')
    .get(async (_req, res) => {
      try {
        await runtime.ping();
      } catch {
        throw new SessionError('unavailable', 'Storage does not answer');
      }
      res.json({ ok: true });
    })
    .all(methodNotAllowed(['GET']));
  router
    .route('/metrics')
    .get(async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    })
    .all(methodNotAllowed(['GET']));
  return router;
}
