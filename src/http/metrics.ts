/** Prometheus metrics, on a registry of their own so several servers can share a process. */
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventType, SessionEvent } from '../domain/events.js';
import type { SessionRuntime } from '../runtime/runtime.js';

const RUN_ENDINGS: Partial<Record<EventType, string>> = {
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
  private readonly deliveries = new Counter({
    name: 'bamboo_webhook_deliveries_total',
    help: 'Webhook delivery attempts settled, by result: delivered, retried (the attempt failed), failed (given up)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'bamboo_http_request_duration_seconds',
    help: 'HTTP request durations',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  /** Observes `runtime` from now on. */
  constructor(runtime: SessionRuntime) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({ name: 'bamboo_instance_info', help: 'This instance, by id', labelNames: ['instance_id'], registers: [this.registry] }).set(
      { instance_id: runtime.instanceId },
      1,
    );
    const gauge = (name: string, help: string, read: (set: (value: number, labels?: Record<string, string>) => void) => void, labelNames: string[] = []) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          read((value, labels) => (labels ? this.set(labels, value) : this.set(value)));
        },
      });
    gauge('bamboo_sessions', 'Stored sessions, by state', (set) => {
      for (const [state, n] of Object.entries(runtime.stats().counts)) set(n, { state });
    }, ['state']);
    gauge('bamboo_live_actors', 'Session actors in memory', (set) => set(runtime.stats().liveActors));
    gauge('bamboo_live_actor_bytes', 'Estimated memory of the session actors in memory', (set) => set(runtime.stats().liveBytes));
    gauge('bamboo_storage_failing', '1 while storage fails (full, damaged or unreachable)', (set) => set(runtime.stats().storageFailing ? 1 : 0));
    new Counter({
      name: 'bamboo_hydrations_total',
      help: 'Sessions brought back from storage into memory',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(runtime.stats().hydrations);
      },
    });
    gauge('bamboo_runs_here', 'Runs executing in this instance', (set) => set(runtime.stats().runsHere));
    gauge('bamboo_event_subscribers', 'Open event subscriptions (SSE streams) in this instance', (set) => set(runtime.stats().subscribers));
    runtime.observe((events) => this.observe(events));
  }

  /** Gauges of what the HTTP layer holds: open streams and the bytes buffered for slow ones. */
  watchStreams(streams: { openStreams: number }, buffers: { buffered: number }): void {
    new Gauge({ name: 'bamboo_event_streams', help: 'Open event streams (SSE)', registers: [this.registry], collect() { this.set(streams.openStreams); } });
    new Gauge({
      name: 'bamboo_sse_buffered_bytes',
      help: 'Bytes buffered for slow event streams, all together',
      registers: [this.registry],
      collect() {
        this.set(buffers.buffered);
      },
    });
  }

  /** The webhook queue's depth: deliveries pending, read from the outbox at each scrape. */
  watchWebhooks(pending: () => Promise<number>): void {
    // Every result shows from the start, at 0, so a rate over it is defined.
    for (const result of ['delivered', 'retried', 'failed']) this.deliveries.inc({ result }, 0);
    let last = 0;
    new Gauge({
      name: 'bamboo_webhook_queue_depth',
      help: 'Webhook deliveries pending (waiting for an attempt or in flight), of every instance',
      registers: [this.registry],
      async collect() {
        // A store that does not answer shows the last depth read; its failure is told by bamboo_storage_failing.
        last = await pending().catch(() => last);
        this.set(last);
      },
    });
  }

  /** One settled webhook attempt. */
  deliverySettled(result: 'delivered' | 'retried' | 'failed'): void {
    this.deliveries.inc({ result });
  }

  private observe(events: readonly SessionEvent[]): void {
    this.appends.inc(events.length);
    for (const event of events) {
      if (event.type === 'run_started') this.runsStarted.inc();
      const status = RUN_ENDINGS[event.type];
      if (status) this.runsEnded.inc({ status });
    }
  }

  timeRequests(): RequestHandler {
    // One child per label set, kept: prom-client would hash the labels again on every request.
    const series = new Map<string, { observe(seconds: number): void }>();
    return (req, res, next) => {
      const started = performance.now();
      res.on('finish', () => {
        // The route pattern, not the URL: ids would explode the label set. Mount paths match in any
        // case, and `baseUrl` is the path as asked: lower-cased, `/API/v1` and `/api/V1` are one series.
        const route = req.route ? `${req.baseUrl.toLowerCase()}${String(req.route.path)}` : 'unmatched';
        const status = String(res.statusCode);
        const key = `${req.method} ${route} ${status}`;
        let child = series.get(key);
        if (!child) series.set(key, (child = this.httpDuration.labels(req.method, route, status)));
        child.observe((performance.now() - started) / 1000);
      });
      next();
    };
  }
}
