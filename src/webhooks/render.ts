/**
 * The outbox rows of a transition: for each run ending among its events, one
 * delivery per configured receiver, its body rendered now from what the host
 * knows, so every attempt sends the same bytes.
 */
import { isRunEnding, type RunEnding } from '../domain/events.js';
import { newId, now } from '../domain/ids.js';
import type { LastRun, RunStatus } from '../domain/types.js';
import { WEBHOOK_EVENT_OF, type WebhookBody } from '../domain/webhooks.js';
import type { WebhookRenderer } from '../runtime/session-host.js';
import type { MachineState } from '../runtime/session-writer.js';
import type { WebhookDelivery } from '../storage/store.js';

const STATUS_OF: Record<RunEnding['type'], RunStatus> = {
  run_completed: 'completed',
  question_asked: 'awaiting_user',
  run_failed: 'failed',
  run_cancelled: 'cancelled',
  run_interrupted: 'interrupted',
};

/** Renders deliveries to `urls`, which come from the operator's configuration only. */
export function webhookRenderer(urls: readonly string[]): WebhookRenderer {
  return (info, events, machine, runBefore) => {
    const deliveries: WebhookDelivery[] = [];
    for (const event of events) {
      if (!isRunEnding(event)) continue;
      const body: WebhookBody = {
        type: WEBHOOK_EVENT_OF[event.type],
        timestamp: event.at,
        data: {
          session_id: info.id,
          run_id: event.run_id,
          state: machine.state,
          last_run: endedRun(event, machine, runBefore),
          ...(event.type === 'question_asked' ? { question: event.question } : {}),
          metadata: info.metadata,
        },
      };
      const payload = JSON.stringify(body);
      const createdAt = now();
      for (const url of urls) {
        deliveries.push({ id: newId('dlv'), tenant: info.tenant, sessionId: info.id, runId: event.run_id, type: body.type, url, payload, createdAt });
      }
    }
    return deliveries;
  };
}

/**
 * The run the event ended, as the machine recorded it. When the same
 * transition started another run (a message that interrupts), the machine's
 * last run is the new one, so the ended run is the one seen before, ended here.
 */
function endedRun(event: RunEnding, machine: MachineState, runBefore: LastRun | null): LastRun {
  const last = machine.context.lastRun;
  if (last?.id === event.run_id) return last;
  const error = event.type === 'run_failed' ? { error: event.error } : {};
  const started = runBefore?.id === event.run_id ? runBefore.started_at : event.at;
  return { id: event.run_id, status: STATUS_OF[event.type], ...error, started_at: started, ended_at: event.at };
}
