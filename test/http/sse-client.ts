/** A real `EventSource` (the `eventsource` package) that records what it receives, per connection. */
import { EventSource, type FetchLike } from 'eventsource';
import { vi } from 'vitest';
import { EVENT_TYPES } from '../../src/domain/events.js';
import type { Json } from './helpers.js';

export interface Received {
  /** The SSE `id:` field, which must be the event's `seq`. */
  id: string;
  /** The SSE `event:` field, which must be the event's `type`. */
  type: string;
  data: Json;
  /** 1 for the first connection, 2 after the first reconnect, … */
  connection: number;
}

export class EventLog {
  readonly es: EventSource;
  readonly received: Received[] = [];
  /** Headers of every request the EventSource made, reconnects included. */
  readonly requests: Record<string, string>[] = [];
  opens = 0;
  errors = 0;

  /** `lastEventId` is sent as the `Last-Event-ID` header of the first request, as a reconnecting browser would. */
  constructor(url: string, { lastEventId }: { lastEventId?: string } = {}) {
    const fetchWithHeaders: FetchLike = (input, init) => {
      const headers = this.requests.length === 0 && lastEventId !== undefined ? { ...init.headers, 'Last-Event-ID': lastEventId } : init.headers;
      this.requests.push(headers);
      return fetch(input, { ...init, headers });
    };
    this.es = new EventSource(url, { fetch: fetchWithHeaders });
    this.es.addEventListener('open', () => this.opens++);
    this.es.addEventListener('error', () => this.errors++);
    for (const type of EVENT_TYPES) {
      this.es.addEventListener(type, (event) => {
        this.received.push({ id: event.lastEventId, type: event.type, data: JSON.parse(event.data), connection: this.opens });
      });
    }
  }

  get seqs(): number[] {
    return this.received.map((event) => event.data.seq);
  }

  get lastSeq(): number | undefined {
    return this.received.at(-1)?.data.seq;
  }

  ofType(type: string): Received[] {
    return this.received.filter((event) => event.type === type);
  }

  async waitFor(accept: (received: Received[]) => boolean, timeout = 10_000): Promise<void> {
    await vi.waitFor(
      () => {
        if (!accept(this.received)) throw new Error(`still waiting; received ${this.received.map((e) => `${e.data.seq}:${e.type}`).join(' ').slice(-400)}`);
      },
      { timeout, interval: 5 },
    );
  }

  async waitForOpen(timeout = 5_000): Promise<void> {
    await vi.waitFor(
      () => {
        if (this.opens === 0) throw new Error('not open yet');
      },
      { timeout, interval: 5 },
    );
  }

  close(): void {
    this.es.close();
  }
}
