/**
 * Moves a session's queue: whenever a durable change leaves a session free
 * (idle or completed) with messages queued, the first of them runs. Off the
 * change's own path (the next turn of the event loop), once per session at a
 * time; a failure is logged and left to the next change or recovery sweep.
 */
import type { SessionHost } from './session-host.js';
import type { RuntimeContext } from './use-cases/context.js';
import { advanceQueue } from './use-cases/multitask.js';

export class QueueMover {
  private readonly scheduled = new Set<string>();
  /** Sessions whose queue waits, until when (ms since the epoch): another instance's message is to run first. */
  private readonly held = new Map<string, number>();

  constructor(private readonly context: () => RuntimeContext) {}

  /** After a durable change of `host`. */
  freed(host: SessionHost): void {
    const { state, context } = host.durable;
    if (context.queue.length === 0 || (state !== 'idle' && state !== 'completed') || host.isStopped) return;
    this.move(host.id);
  }

  /** The queue of `id` does not move for `ms`, then moves if the session is still free. */
  hold(id: string, ms: number): void {
    this.held.set(id, Date.now() + ms);
    setTimeout(() => {
      if ((this.held.get(id) ?? 0) > Date.now()) return;
      this.held.delete(id);
      this.move(id);
    }, ms).unref();
  }

  move(id: string): void {
    if ((this.held.get(id) ?? 0) > Date.now()) return;
    if (this.scheduled.has(id)) return;
    this.scheduled.add(id);
    setImmediate(() => {
      const ctx = this.context();
      advanceQueue(ctx, id)
        .catch((err: unknown) => {
          if (!ctx.isClosing()) ctx.logger.warn({ err, session_id: id }, 'could not run the next queued message; the recovery sweep tries again');
        })
        .finally(() => this.scheduled.delete(id));
    });
  }
}
