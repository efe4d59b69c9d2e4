/**
 * Fan-out of durable events to this process's subscribers, per session, in
 * `seq` order with no gap and no duplicate. Events come from two sides: this
 * process's own commits (`publish`, delivered at once) and the event feed's
 * word that another process committed up to some `seq` (`announce`), which is
 * read from the log, once per session however many subscribers it has. A gap
 * in either is filled from the log before anything later is delivered.
 */
import type { SessionEvent } from '../domain/events.js';

/** One event, serialised at most once for all subscribers. */
export class Delivery {
  private encoded?: string;
  private sseFrame?: Buffer;

  constructor(readonly event: SessionEvent) {}

  get json(): string {
    return (this.encoded ??= JSON.stringify(this.event));
  }

  /** The Server-Sent Events frame, one shared buffer for every stream. */
  get frame(): Buffer {
    return (this.sseFrame ??= Buffer.from(`id: ${this.event.seq}\nevent: ${this.event.type}\ndata: ${this.json}\n\n`));
  }
}

export interface Subscriber {
  deliver(delivery: Delivery): void;
  /** The session is gone; no more events will come. */
  end(): void;
}

export type ReadLog = (sessionId: string, after: number, limit: number) => Promise<SessionEvent[]>;

interface Topic {
  subscribers: Set<Subscriber>;
  /** Everything up to here was delivered. */
  lastSeq: number;
  /** The highest `seq` known to be durable; above `lastSeq` while catching up. */
  wanted: number;
  /** Read the log to its end, whatever `wanted` says: news of this session may have been missed. */
  refreshing: boolean;
  /** Counts announcements and refreshes, so a read can tell whether news arrived while it was under way. */
  asks: number;
  catchingUp: boolean;
}

const CATCH_UP_PAGE = 500;
/** How soon a failed read of the log is tried again. */
const RETRY_READ_MS = 1_000;

export class EventBus {
  private readonly topics = new Map<string, Topic>();

  constructor(
    private readonly readLog: ReadLog,
    private readonly onError: (error: unknown, sessionId: string) => void,
  ) {}

  /** `lastSeq`: the session's last durable `seq` as the subscriber knows it; delivery starts after it. */
  subscribe(sessionId: string, lastSeq: number, subscriber: Subscriber): () => void {
    let topic = this.topics.get(sessionId);
    if (!topic) {
      topic = { subscribers: new Set(), lastSeq, wanted: lastSeq, refreshing: false, asks: 0, catchingUp: false };
      this.topics.set(sessionId, topic);
    }
    const current = topic;
    current.subscribers.add(subscriber);
    return () => {
      current.subscribers.delete(subscriber);
      if (current.subscribers.size === 0 && this.topics.get(sessionId) === current) this.topics.delete(sessionId);
    };
  }

  /** Events this process just made durable, in order. */
  publish(sessionId: string, events: readonly SessionEvent[]): void {
    const topic = this.topics.get(sessionId);
    const last = events.at(-1);
    if (!topic || !last || last.seq <= topic.lastSeq) return;
    if (!topic.catchingUp && events[0].seq <= topic.lastSeq + 1) {
      for (const event of events) if (event.seq > topic.lastSeq) this.deliver(topic, new Delivery(event));
      topic.wanted = Math.max(topic.wanted, topic.lastSeq);
      return;
    }
    this.announce(sessionId, last.seq);
  }

  /** Events up to `seq` are durable (committed by any process): deliver what this process has not. */
  announce(sessionId: string, seq: number): void {
    const topic = this.topics.get(sessionId);
    if (!topic || seq <= topic.wanted) return;
    topic.wanted = seq;
    topic.asks++;
    if (!topic.catchingUp) void this.catchUp(sessionId, topic);
  }

  /** Reads the log for anything committed since the last delivery: for a topic whose news may have been missed. */
  refresh(sessionId: string): void {
    const topic = this.topics.get(sessionId);
    if (!topic) return;
    topic.refreshing = true;
    topic.asks++;
    if (!topic.catchingUp) void this.catchUp(sessionId, topic);
  }

  /** The last `seq` delivered to the session's subscribers; undefined when it has none. */
  lastDelivered(sessionId: string): number | undefined {
    return this.topics.get(sessionId)?.lastSeq;
  }

  /** Sends a last event to the session's subscribers, then ends their subscriptions. */
  close(sessionId: string, last: SessionEvent): void {
    const topic = this.topics.get(sessionId);
    if (!topic) return;
    this.topics.delete(sessionId);
    const delivery = new Delivery(last);
    for (const subscriber of topic.subscribers) {
      subscriber.deliver(delivery);
      subscriber.end();
    }
  }

  subscriberCount(): number {
    let n = 0;
    for (const topic of this.topics.values()) n += topic.subscribers.size;
    return n;
  }

  private deliver(topic: Topic, delivery: Delivery): void {
    topic.lastSeq = delivery.event.seq;
    for (const subscriber of [...topic.subscribers]) subscriber.deliver(delivery);
  }

  /**
   * Reads the log until it has delivered what is wanted (or, refreshing, to
   * the end). A read that finds nothing new ends the catch-up only if no news
   * came while it ran: news may name a commit the read started too early to see.
   */
  private async catchUp(sessionId: string, topic: Topic): Promise<void> {
    topic.catchingUp = true;
    try {
      while (this.topics.get(sessionId) === topic && (topic.refreshing || topic.lastSeq < topic.wanted)) {
        const asks = topic.asks;
        topic.refreshing = false;
        const events = await this.readLog(sessionId, topic.lastSeq, CATCH_UP_PAGE);
        const before = topic.lastSeq;
        for (const event of events) if (event.seq === topic.lastSeq + 1) this.deliver(topic, new Delivery(event));
        // A full page: there may be more.
        if (events.length === CATCH_UP_PAGE) topic.refreshing = true;
        if (topic.lastSeq === before && topic.asks === asks) break;
      }
      // What could be read was: an announcement the log does not show yet is not waited for.
      topic.wanted = topic.lastSeq;
    } catch (error) {
      this.onError(error, sessionId);
      // Not given up: later news is heard again, and the log is read again shortly, so a failed read stalls no stream.
      topic.wanted = topic.lastSeq;
      setTimeout(() => this.refresh(sessionId), RETRY_READ_MS).unref();
    } finally {
      topic.catchingUp = false;
    }
  }
}
