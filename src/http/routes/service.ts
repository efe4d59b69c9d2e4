/** Liveness, readiness and metrics, beside the API. */
import { within } from '../../domain/deadline.js';
import { SessionError } from '../../domain/errors.js';
import { methodNotAllowed } from '../errors.js';
import type { RegisterRoutes } from './deps.js';

/** How long readiness waits for storage: a probe is answered in time, even when the database froze. */
export const READY_TIMEOUT_MS = 2_000;

export const serviceRoutes: RegisterRoutes = (router, { runtime, metrics, admit }) => {
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
        await within(runtime.ping(), READY_TIMEOUT_MS);
      } catch {
        throw new SessionError('unavailable', 'Storage does not answer', { instance: runtime.instanceId });
      }
      res.json({ ok: true, instance: runtime.instanceId });
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/metrics')
    .get(...admit, async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    })
    .all(methodNotAllowed(['GET']));
};
