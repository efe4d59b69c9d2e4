/** How storage failures are classed and told: an outage opens an incident (readiness fails); a pool busy under load does not. */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { StorageHealth, watchStorage } from '../../src/runtime/storage-health.js';
import { unavailability } from '../../src/storage/postgres/connection.js';
import { StorageUnavailable, type Store } from '../../src/storage/store.js';

describe('PostgreSQL failures', () => {
  it('class a pool whose connections all stayed in use as busy, a lost or refused connection as unreachable, a full disk as full', () => {
    expect(unavailability(new Error('timeout exceeded when trying to connect'))?.reason).toBe('busy');
    expect(unavailability(new Error('Connection terminated due to connection timeout'))?.reason).toBe('unreachable');
    expect(unavailability(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))?.reason).toBe('unreachable');
    expect(unavailability(Object.assign(new Error('could not extend file'), { code: '53100' }))?.reason).toBe('full');
    expect(unavailability(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBeNull();
  });

  it('say a statement may have been committed only when it was sent and its answer lost', () => {
    const maybe = (error: Error) => unavailability(error)?.maybeWritten;
    // Never connected, or undone by the server: nothing was written.
    expect(maybe(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(maybe(new Error('Connection terminated due to connection timeout'))).toBe(false);
    expect(maybe(new Error('timeout exceeded when trying to connect'))).toBe(false);
    expect(maybe(Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }))).toBe(false);
    expect(maybe(Object.assign(new Error('the database system is starting up'), { code: '57P03' }))).toBe(false);
    // Sent, then the connection or the answer was lost: it may have committed.
    expect(maybe(new Error('Query read timeout'))).toBe(true);
    expect(maybe(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(maybe(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
    expect(maybe(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
  });

  it('open an incident (readiness fails) for an outage, not for a busy pool', async () => {
    const health = new StorageHealth(pino({ level: 'silent' }));
    let failure = new Error('timeout exceeded when trying to connect');
    const store = watchStorage({ loadSession: () => Promise.reject(unavailability(failure)) } as unknown as Store, health);
    await expect(store.loadSession('ses_a')).rejects.toMatchObject({ reason: 'busy' });
    expect(health.failing).toBe(false);
    failure = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    await expect(store.loadSession('ses_a')).rejects.toMatchObject({ reason: 'unreachable' });
    expect(health.failing).toBe(true);
  });
});

describe('recovery', () => {
  it('is proved only by a call that wrote: renewing no lease or deleting nothing leaves the incident open; a write ends it', async () => {
    const health = new StorageHealth(pino({ level: 'silent' }));
    const full = new StorageUnavailable('full', 'the disk is full');
    let failing = true;
    const store = watchStorage(
      {
        commit: () => (failing ? Promise.reject(full) : Promise.resolve()),
        renewLeases: () => Promise.resolve([]),
        deleteSessionsIdleSince: () => Promise.resolve([]),
        ping: () => Promise.resolve(),
      } as unknown as Store,
      health,
    );
    await expect(store.commit({} as never)).rejects.toBe(full);
    expect(health.failing).toBe(true);
    await store.renewLeases('me', [], 1_000);
    await store.deleteSessionsIdleSince('2020-01-01T00:00:00.000Z', 10);
    await store.ping();
    expect(health.failing).toBe(true);
    await store.ping({ write: true });
    expect(health.failing).toBe(false);
    await expect(store.commit({} as never)).rejects.toBe(full);
    failing = false;
    await store.commit({} as never);
    expect(health.failing).toBe(false);
  });
});
