/**
 * Retention: sessions idle for longer than `days` are deleted with their logs,
 * in batches, off the request path (hourly, and once soon after start). Open
 * streams of a deleted session get `session_deleted`.
 */
import { forgetDeleted } from './use-cases/delete-session.js';
import type { RuntimeContext } from './use-cases/context.js';

const BATCH = 500;
const INTERVAL_MS = 60 * 60 * 1000;

export class Retention {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;

  constructor(
    private readonly ctx: RuntimeContext,
    private readonly days: number,
  ) {}

  /** Builds (or, with retention off, drops) the store's index of idle sessions, then sweeps hourly. */
  async start(): Promise<void> {
    await this.ctx.store.indexForRetention?.(this.days > 0);
    if (this.days <= 0) return;
    const run = () => {
      this.sweeping ??= this.sweep().finally(() => (this.sweeping = null));
    };
    this.timer = setInterval(run, INTERVAL_MS);
    this.timer.unref();
    setImmediate(run);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  /** Deletes every session idle since before the cutoff; returns how many. */
  async sweep(): Promise<number> {
    const cutoff = new Date(Date.now() - this.days * 24 * 60 * 60 * 1000).toISOString();
    let deleted = 0;
    try {
      for (;;) {
        if (this.ctx.isClosing()) break;
        const ids = await this.ctx.store.deleteSessionsIdleSince(cutoff, BATCH);
        for (const id of ids) forgetDeleted(this.ctx, id);
        deleted += ids.length;
        // A store may stop a batch short (SQLite, after some megabytes): only an empty one says the sweep is done.
        if (ids.length === 0) break;
        // Requests go first between batches.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (deleted > 0) {
        this.ctx.index.trigger.seeded({ counts: await this.ctx.store.countByState() });
        this.ctx.logger.info({ sessions: deleted, idle_days: this.days }, 'retention deleted idle sessions');
      }
    } catch (err) {
      this.ctx.logger.warn({ err }, 'retention sweep failed; trying again at the next one');
    }
    return deleted;
  }
}
