/** Prometheus metrics, on a registry of their own so several servers can share a process. */
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SessionEvent } from '../domain/types.js';
import type { StateCounts } from '../runtime/session-index.js';

const RUN_ENDINGS: Partial<Record<SessionEvent['type'], string>> = {
  run_completed: 'completed',
  question_asked: 'awaiting_user',
  run_failed: 'failed',
  run_cancelled: 'cancelled',
  run_interrupted: 'interrupted',
};

export class Metrics {
  readonly registry = new Registry();
  private readonly runsStarted = new Counter({ name: 'bamboo_runs_started_total', help: 'Runs started', registers: [this.registry] });
  private readonly runsEnded = new Counter({
    name: 'bamboo_runs_ended_total',
    help: 'Runs ended, by status',
    labelNames: ['status'],
    registers: [this.registry],
  });
  private readonly appends = new Counter({
    name: 'bamboo_event_log_appends_total',
    help: 'Events appended to session logs',
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'bamboo_http_request_duration_seconds',
    help: 'HTTP request durations',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(counts: () => StateCounts, liveActors: () => number) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'bamboo_sessions',
      help: 'Stored sessions, by state',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        for (const [state, n] of Object.entries(counts())) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'bamboo_live_actors',
      help: 'Session actors in memory',
      registers: [this.registry],
      collect() {
        this.set(liveActors());
      },
    });
  }

  /** Fed with every batch of events made durable. */
  observe(events: readonly SessionEvent[]): void {
    this.appends.inc(events.length);
    for (const event of events) {
      if (event.type === 'run_started') this.runsStarted.inc();
      const status = RUN_ENDINGS[event.type];
      if (status) this.runsEnded.inc({ status });
    }
  }

  timeRequests(): RequestHandler {
    return (req, res, next) => {
      const stop = this.httpDuration.startTimer({ method: req.method });
      res.on('finish', () => {
        // The route pattern, not the URL: ids would explode the label set.
        const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
        stop({ route, status: String(res.statusCode) });
      });
      next();
    };
  }
}
