/** Webhook deliveries: the tenant's list, one delivery, and a retry of a failed one. Receivers come from configuration only, never from here. */
import { methodNotAllowed } from '../errors.js';
import { emptyBody, listDeliveriesQuery, parse, validBody } from '../validation.js';
import type { RegisterRoutes } from './deps.js';

export const webhookRoutes: RegisterRoutes = (router, { webhooks }) => {
  if (!webhooks) return;
  router
    .route('/webhooks/deliveries')
    .get(async (req, res) => {
      const query = parse(listDeliveriesQuery, req.query, 'query');
      res.json(await webhooks.list(req.tenant, { status: query.status, limit: query.limit ?? 50, cursor: query.cursor }));
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/webhooks/deliveries/:id')
    .get(async (req, res) => {
      res.json({ delivery: await webhooks.get(req.tenant, req.params.id) });
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/webhooks/deliveries/:id/retry')
    .post(validBody(emptyBody), async (req, res) => {
      res.status(202).json({ delivery: await webhooks.retry(req.tenant, req.params.id) });
    })
    .all(methodNotAllowed(['POST']));
};
