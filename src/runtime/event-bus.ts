/**
 * In-process fan-out of events that are already durable. Keyed by session, so
 * a subscriber needs no live actor: a passivated session's stream stays open
 * and resumes when the session is rehydrated.
 */
import type { SessionEvent } from '../domain/types.js';

export interface Delivery {
  event: SessionEvent;
  /** The event serialised once, shared by every subscriber. */
  json: string;
}

export interface Subscriber {
  deliver(delivery: Delivery): void;
  /** The session is gone; no more events will come. */
  end(): void;
}

export class EventBus {
  private readonly subscribers = new Map<string, Set<Subscriber>>();

  subscribe(sessionId: string, subscriber: Subscriber): () => void {
    let set = this.subscribers.get(sessionId);
    if (!set) this.subscribers.set(sessionId, (set = new Set()));
    set.add(subscriber);
    return () => {
      set.delete(subscriber);
      if (set.size === 0 && this.subscribers.get(sessionId) === set) this.subscribers.delete(sessionId);
    };
  }

  publish(sessionId: string, events: readonly SessionEvent[]): void {
    const set = this.subscribers.get(sessionId);
    if (!set) return;
    for (const event of events) {
      const delivery = { event, json: JSON.stringify(event) };
      for (const subscriber of [...set]) subscriber.deliver(delivery);
    }
  }

  /** Sends a last event to the session's subscribers, then ends their subscriptions. */
  close(sessionId: string, last: SessionEvent): void {
    const set = this.subscribers.get(sessionId);
    if (!set) return;
    this.subscribers.delete(sessionId);
    const delivery = { event: last, json: JSON.stringify(last) };
    for (const subscriber of set) {
      subscriber.deliver(delivery);
      subscriber.end();
    }
  }

  subscriberCount(): number {
    let n = 0;
    for (const set of this.subscribers.values()) n += set.size;
    return n;
  }
}
