/**
 * The event bus on its own, with a log whose reads the test answers by hand:
 * news that arrives while a read is under way is never lost, gaps are filled
 * from the log, and every subscriber sees each event once, in order.
 */
import { describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../src/domain/events.js';
import { EventBus } from '../../src/runtime/event-bus.js';

const SESSION = 'ses_bus';

function token(seq: number): SessionEvent {
  return { seq, type: 'token', session_id: SESSION, run_id: 'run_1', text: `t${seq}`, at: '2026-01-01T00:00:00.000Z' };
}

/** A log the test appends to; each read waits until the test lets it answer, with what the log held when it started. */
class ManualLog {
  readonly events: SessionEvent[] = [];
  readonly pending: { after: number; limit: number; snapshot: SessionEvent[]; answer: () => void; fail: (error: Error) => void }[] = [];

  read = (_id: string, after: number, limit: number): Promise<SessionEvent[]> => {
    const snapshot = this.events.filter((event) => event.seq > after).slice(0, limit);
    return new Promise((resolve, reject) => this.pending.push({ after, limit, snapshot, answer: () => resolve(snapshot), fail: reject }));
  };

  /** Fails the oldest read waiting, as storage that is briefly unavailable would. */
  async failNext(): Promise<void> {
    this.pending.shift()!.fail(new Error('storage unavailable'));
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** Answers the oldest read waiting, then lets the bus act on it. */
  async answerNext(): Promise<void> {
    const read = this.pending.shift();
    if (!read) throw new Error('no read is waiting');
    read.answer();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function setup(lastSeq = 0) {
  const log = new ManualLog();
  const errors: unknown[] = [];
  const bus = new EventBus(log.read, (error) => errors.push(error));
  const seen: number[] = [];
  bus.subscribe(SESSION, lastSeq, { deliver: ({ event }) => seen.push(event.seq), end: () => undefined });
  return { log, bus, seen, errors };
}

describe('EventBus', () => {
  it('a failed read does not stall the stream: the same news, heard again, is read again', async () => {
    const { log, bus, seen, errors } = setup();
    log.events.push(token(1));
    bus.announce(SESSION, 1);
    await log.failNext();
    expect(errors).toHaveLength(1);
    expect(seen).toEqual([]);
    // The next notice names the same commit (or the retry comes): it is read, not ignored.
    bus.announce(SESSION, 1);
    expect(log.pending).toHaveLength(1);
    await log.answerNext();
    expect(seen).toEqual([1]);
  });

  it('a refresh whose read started before a commit still delivers that commit, announced while the read ran', async () => {
    const { log, bus, seen } = setup();
    bus.refresh(SESSION);
    expect(log.pending).toHaveLength(1);
    // Committed elsewhere after the read began, and announced before it answered.
    log.events.push(token(1), token(2));
    bus.announce(SESSION, 2);
    await log.answerNext();
    // The first read saw nothing; the announcement asks for another.
    expect(log.pending).toHaveLength(1);
    await log.answerNext();
    expect(seen).toEqual([1, 2]);
    expect(log.pending).toHaveLength(0);
  });

  it('an announcement during a catch-up is read after it, in order, without duplicates', async () => {
    const { log, bus, seen } = setup();
    log.events.push(token(1));
    bus.announce(SESSION, 1);
    log.events.push(token(2), token(3));
    bus.announce(SESSION, 3);
    await log.answerNext();
    expect(seen).toEqual([1]);
    await log.answerNext();
    expect(seen).toEqual([1, 2, 3]);
    expect(log.pending).toHaveLength(0);
  });

  it('own commits are delivered at once; one that skips ahead is filled from the log first', async () => {
    const { log, bus, seen } = setup();
    log.events.push(token(1), token(2));
    bus.publish(SESSION, [token(1)]);
    expect(seen).toEqual([1]);
    // Event 2 was committed by another process; 3 is ours.
    log.events.push(token(3));
    bus.publish(SESSION, [token(3)]);
    expect(seen).toEqual([1]);
    await log.answerNext();
    expect(seen).toEqual([1, 2, 3]);
  });

  it('a refresh reads page after page to the end of the log', async () => {
    const { log, bus, seen } = setup();
    for (let seq = 1; seq <= 1_200; seq++) log.events.push(token(seq));
    bus.refresh(SESSION);
    await log.answerNext();
    await log.answerNext();
    await log.answerNext();
    expect(seen).toHaveLength(1_200);
    expect(seen.at(-1)).toBe(1_200);
    expect(log.pending).toHaveLength(0);
  });

  it('a refresh that finds nothing new reads once and stops', async () => {
    const { log, bus, seen } = setup(5);
    bus.refresh(SESSION);
    await log.answerNext();
    expect(seen).toEqual([]);
    expect(log.pending).toHaveLength(0);
  });
});
