/**
 * LangGraph's meta routes, public as on LangGraph's own server: `/ok` for
 * health checks and `/info`, which clients such as Agent Chat UI call before
 * anything else to see that a server answers and what it offers.
 */
import type { Router } from 'express';
import { packageVersion } from '../../cli/version.js';

export function metaRoutes(router: Router): void {
  router.get('/ok', (_req, res) => {
    res.json({ ok: true });
  });
  router.get('/info', (_req, res) => {
    // Only what Bamboo provides: assistants (one per agent); no crons, no LangSmith tracing, no strict resume.
    res.json({ version: packageVersion(), flags: { assistants: true, crons: false, langsmith: false } });
  });
}
