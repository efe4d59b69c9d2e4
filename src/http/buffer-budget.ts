/**
 * One budget for the bytes buffered by all slow event streams together. Each
 * stream reports after it writes; when the bytes held pass the budget, the
 * slowest streams (the most behind) are cut until it fits again. They
 * reconnect with `Last-Event-ID` and miss nothing.
 *
 * The streams of one session share each frame (one Buffer for all), so what
 * they hold together is what the one most behind holds, not the sum: a
 * thousand clients keeping up with one large event hold it once, and are not
 * cut for it. Streams are grouped by what they share (`track`'s `group`).
 */
import type { Response } from 'express';

interface Tracked {
  group: unknown;
  buffered: number;
  cut: () => void;
}

export class BufferBudget {
  private readonly streams = new Map<Response, Tracked>();
  /** The sum over every stream: an upper bound of what is held, kept at each report. */
  private total = 0;

  constructor(private readonly maxBytes: number) {}

  /** Bytes held for slow streams: per group, what its stream most behind holds. */
  get buffered(): number {
    return this.held();
  }

  /**
   * Follows `res` until the returned function is called; `cut` ends it when
   * it is among the slowest. Streams of one `group` share their frames.
   */
  track(res: Response, cut: () => void, group: unknown = res): () => void {
    const entry: Tracked = { group, buffered: 0, cut };
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
    // The sum is cheap and bounds what is held: only past it are the groups looked at.
    if (this.maxBytes > 0 && this.total > this.maxBytes && this.held() > this.maxBytes) this.cutSlowest();
  }

  private groups(): Map<unknown, Tracked[]> {
    const groups = new Map<unknown, Tracked[]>();
    for (const entry of this.streams.values()) {
      if (entry.buffered === 0) continue;
      const members = groups.get(entry.group);
      if (members) members.push(entry);
      else groups.set(entry.group, [entry]);
    }
    return groups;
  }

  private held(): number {
    let held = 0;
    for (const members of this.groups().values()) held += Math.max(...members.map((entry) => entry.buffered));
    return held;
  }

  /** Cuts the stream most behind, again and again, until what is held is under three quarters of the budget. */
  private cutSlowest(): void {
    const groups = [...this.groups().values()].map((members) => members.sort((a, b) => b.buffered - a.buffered));
    const heldBy = (members: Tracked[]) => members[0]?.buffered ?? 0;
    let held = groups.reduce((sum, members) => sum + heldBy(members), 0);
    while (held > this.maxBytes * 0.75) {
      const slowest = groups.reduce((most, members) => (heldBy(members) > heldBy(most) ? members : most));
      const entry = slowest.shift();
      if (!entry) break;
      held += heldBy(slowest) - entry.buffered;
      entry.cut();
    }
  }
}
