/** What a webhook receiver is told: the end of a run, one event type per way a run ends. */
import type { RunEnding } from './events.js';
import type { LastRun, Question, SessionState } from './types.js';

/** Every webhook event type, in the order the API reference lists them. */
export const WEBHOOK_EVENT_TYPES = ['run.completed', 'run.awaiting_user', 'run.failed', 'run.cancelled', 'run.interrupted'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The webhook event each run ending is told as. */
export const WEBHOOK_EVENT_OF: Record<RunEnding['type'], WebhookEventType> = {
  run_completed: 'run.completed',
  question_asked: 'run.awaiting_user',
  run_failed: 'run.failed',
  run_cancelled: 'run.cancelled',
  run_interrupted: 'run.interrupted',
};

/** The body of every webhook request (the Standard Webhooks shape: `type`, `timestamp`, `data`). */
export interface WebhookBody {
  type: WebhookEventType;
  /** When the run ended. */
  timestamp: string;
  data: {
    session_id: string;
    run_id: string;
    /** The session's state right after the run ended. */
    state: SessionState;
    /** The run that ended, with its status, error and times. */
    last_run: LastRun;
    /** `run.awaiting_user` only: the question the session waits on. */
    question?: Question;
    /** The session's metadata as its client stored it, so a receiver can route the event. */
    metadata: Record<string, unknown>;
  };
}

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** A delivery as the API shows it to the tenant whose session it tells of. */
export interface DeliveryView {
  id: string;
  type: WebhookEventType;
  session_id: string;
  run_id: string;
  /** The receiver, without credentials or query string. */
  url: string;
  status: DeliveryStatus;
  attempts: number;
  created_at: string;
  /** When the next attempt is due; null unless `pending`. */
  next_attempt_at: string | null;
  /** When it was delivered, or given up. */
  finished_at: string | null;
  last_error: string | null;
  /** The exact body every attempt sends. */
  body: WebhookBody;
}
