/**
 * One budget for the bytes buffered by all slow event streams together. Each
 * stream reports after it writes; when the sum passes the budget, the slowest
 * streams (the most behind) are cut until it fits again. They reconnect with
 * `Last-Event-ID` and miss nothing.
 */
import type { Response } from 'express';

interface Tracked {
  buffered: number;
  cut: () => void;
}

export class BufferBudget {
  private readonly streams = new Map<Response, Tracked>();
  private total = 0;

  constructor(private readonly maxBytes: number) {}

  get buffered(): number {
    return this.total;
  }

  /** Follows `res` until the returned function is called; `cut` ends it when it is among the slowest. */
  track(res: Response, cut: () => void): () => void {
    const entry: Tracked = { buffered: 0, cut };
    this.streams.set(res, entry);
    const onDrain = () => this.report(res);
    res.on('drain', onDrain);
    return () => {
      res.off('drain', onDrain);
      this.total -= entry.buffered;
      this.streams.delete(res);
    };
  }

  /** Call after writing to `res`. */
  report(res: Response): void {
    const entry = this.streams.get(res);
    if (!entry) return;
    const now = res.writableLength;
    this.total += now - entry.buffered;
    entry.buffered = now;
    if (this.maxBytes > 0 && this.total > this.maxBytes) this.cutSlowest();
  }

  private cutSlowest(): void {
    const slowest = [...this.streams.values()].sort((a, b) => b.buffered - a.buffered);
    for (const entry of slowest) {
      if (this.total <= this.maxBytes * 0.75 || entry.buffered === 0) break;
      entry.cut();
    }
  }
}
