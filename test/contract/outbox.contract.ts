/**
 * The webhook outbox's part of the storage contract (see `WebhookOutbox` in
 * src/storage/store.ts): deliveries written with a commit, claims that two
 * dispatchers never share, settling by the claim's owner only, the tenant's
 * list, and a retry through the API. Run by `describeStoreContract`, so every
 * adapter passes it.
 */
import { describe, expect, it } from 'vitest';
import type { Commit, IdempotencyStore, Store, WebhookDelivery, WebhookOutbox } from '../../src/storage/store.js';
import { VersionConflict } from '../../src/storage/store.js';
import { event, sessionRow, snap } from './store.contract.js';

type OutboxStore = Store & IdempotencyStore & WebhookOutbox;

const T0 = Date.parse('2025-06-01T00:00:00.000Z');
/** A time `ms` after T0, as the port writes times. */
const at = (ms: number) => new Date(T0 + ms).toISOString();

let serial = 0;
function delivery(sessionId: string, fields: Partial<WebhookDelivery> = {}): WebhookDelivery {
  serial++;
  return {
    id: `dlv_${serial}`,
    tenant: 'default',
    sessionId,
    runId: `run_${serial}`,
    type: 'run.completed',
    url: 'https://hooks.example.com/bamboo',
    payload: JSON.stringify({ type: 'run.completed', n: serial, text: 'ünïcødé' }),
    createdAt: at(0),
    ...fields,
  };
}

export function describeOutboxContract(current: () => OutboxStore): void {
  describe('webhook outbox', () => {
    /** A session, and a commit that ends its run with these deliveries. */
    async function endRun(sessionId: string, outbox: WebhookDelivery[], fields: Partial<Commit> = {}): Promise<void> {
      const store = current();
      if (!(await store.loadSession(sessionId))) await store.createSession(sessionRow(sessionId), [event(sessionId, 1, 'session_created')]);
      const row = (await store.loadSession(sessionId))!;
      await store.commit({
        sessionId,
        expectedVersion: row.version,
        updatedAt: at(0),
        snapshot: snap('completed', '{}', 'completed'),
        events: [event(sessionId, row.last_event_seq + 1, 'run_completed', { run_id: 'run_x' })],
        messages: [],
        outbox,
        ...fields,
      });
    }
    const claim = (owner: string, now: number, limit = 10, claimMs = 30_000) => current().claimDeliveries({ owner, now: at(now), limit, claimMs });

    it('writes the deliveries with the commit: pending, due at once, exactly as given', async () => {
      const first = delivery('ses_a');
      const second = delivery('ses_a', { url: 'http://127.0.0.1:9/other', type: 'run.awaiting_user' });
      await endRun('ses_a', [first, second]);
      expect(await current().countPendingDeliveries()).toBe(2);
      const claimed = await claim('a', 0);
      expect(claimed).toEqual([
        { ...first, status: 'pending', attempts: 1, nextAttemptAt: first.createdAt, lastError: null, finishedAt: null, retriedAt: null },
        { ...second, status: 'pending', attempts: 1, nextAttemptAt: second.createdAt, lastError: null, finishedAt: null, retriedAt: null },
      ]);
    });

    it('writes none when the commit fails: the run end and its deliveries go together', async () => {
      await endRun('ses_a', []);
      const failure = await endRun('ses_a', [delivery('ses_a')], { expectedVersion: 1 }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(VersionConflict);
      expect(await current().countPendingDeliveries()).toBe(0);
      expect(await claim('a', 0)).toEqual([]);
    });

    it('a claim holds until it expires: another owner gets nothing before, then takes it, with the attempt counted', async () => {
      await endRun('ses_a', [delivery('ses_a')]);
      expect(await claim('a', 0, 10, 30_000)).toHaveLength(1);
      expect(await claim('b', 1_000)).toEqual([]);
      expect(await claim('a', 29_999)).toEqual([]);
      const retaken = await claim('b', 30_000);
      expect(retaken.map((d) => d.attempts)).toEqual([2]);
      // The first owner's claim has lapsed: it can settle nothing now.
      expect(await current().markDelivered(retaken[0].id, 'a', at(30_001))).toBe(false);
      expect(await current().scheduleRetry(retaken[0].id, 'a', at(40_000), 'late')).toBe(false);
      expect(await current().markFailed(retaken[0].id, 'a', at(30_001), 'late')).toBe(false);
      expect(await current().markDelivered(retaken[0].id, 'b', at(30_002))).toBe(true);
    });

    it('two owners claiming at once share nothing, and together take every due delivery once', async () => {
      const all = Array.from({ length: 12 }, () => delivery('ses_a'));
      await endRun('ses_a', all);
      const [a, b] = await Promise.all([claim('a', 0, 8), claim('b', 0, 8)]);
      const ids = [...a, ...b].map((d) => d.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual(all.map((d) => d.id).sort());
    });

    it('claims the earliest due first, at most `limit`, and none not yet due', async () => {
      const late = delivery('ses_a', { createdAt: at(5_000) });
      const early = delivery('ses_a', { createdAt: at(1_000) });
      const middle = delivery('ses_a', { createdAt: at(3_000) });
      await endRun('ses_a', [late, early, middle]);
      expect(await claim('a', 500)).toEqual([]);
      expect((await claim('a', 4_000, 1)).map((d) => d.id)).toEqual([early.id]);
      expect((await claim('a', 10_000)).map((d) => d.id)).toEqual([middle.id, late.id]);
    });

    it('a retry is due again at its time, keeps the error and the attempts, and is claimable by anyone', async () => {
      const d = delivery('ses_a');
      await endRun('ses_a', [d]);
      await claim('a', 0);
      expect(await current().scheduleRetry(d.id, 'a', at(2_000), 'HTTP 500')).toBe(true);
      expect(await claim('b', 1_999)).toEqual([]);
      expect(await claim('b', 2_000)).toMatchObject([{ id: d.id, attempts: 2, lastError: 'HTTP 500', nextAttemptAt: at(2_000), status: 'pending' }]);
      expect(await current().countPendingDeliveries()).toBe(1);
    });

    it('delivered and failed deliveries leave the queue and are claimed no more', async () => {
      const good = delivery('ses_a');
      const bad = delivery('ses_a');
      await endRun('ses_a', [good, bad]);
      await claim('a', 0);
      expect(await current().markDelivered(good.id, 'a', at(100))).toBe(true);
      expect(await current().markFailed(bad.id, 'a', at(200), 'gave up: HTTP 503')).toBe(true);
      expect(await current().countPendingDeliveries()).toBe(0);
      expect(await claim('b', 10 ** 9)).toEqual([]);
      const listed = (await current().listDeliveries({ tenant: 'default', limit: 10 })).items;
      expect(listed).toMatchObject([
        { id: bad.id, status: 'failed', finishedAt: at(200), lastError: 'gave up: HTTP 503', attempts: 1 },
        { id: good.id, status: 'delivered', finishedAt: at(100), lastError: null },
      ]);
      // Settled once is settled: a second word changes nothing.
      expect(await current().markDelivered(bad.id, 'a', at(300))).toBe(false);
    });

    it("lists a tenant's deliveries only, newest first, in pages, optionally of one status", async () => {
      const mine = Array.from({ length: 5 }, () => delivery('ses_a'));
      const theirs = delivery('ses_b', { tenant: 'acme' });
      await endRun('ses_a', mine);
      await endRun('ses_b', [theirs]);
      await claim('a', 0);
      await current().markFailed(mine[1].id, 'a', at(1), 'x');
      await current().markFailed(mine[3].id, 'a', at(1), 'x');

      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await current().listDeliveries({ tenant: 'default', limit: 2, cursor });
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((d) => d.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual(mine.map((d) => d.id).reverse());

      const failed = await current().listDeliveries({ tenant: 'default', status: 'failed', limit: 1 });
      expect(failed.items.map((d) => d.id)).toEqual([mine[3].id]);
      const rest = await current().listDeliveries({ tenant: 'default', status: 'failed', limit: 1, cursor: failed.nextCursor! });
      expect([rest.items.map((d) => d.id), rest.nextCursor]).toEqual([[mine[1].id], null]);
      expect((await current().listDeliveries({ tenant: 'acme', limit: 10 })).items.map((d) => d.id)).toEqual([theirs.id]);
      expect((await current().listDeliveries({ tenant: 'nobody', limit: 10 })).items).toEqual([]);
    });

    it('a failed delivery retried by its tenant is pending again, due at once, attempts from zero; another tenant finds nothing', async () => {
      const d = delivery('ses_a');
      await endRun('ses_a', [d]);
      await claim('a', 0);
      await current().markFailed(d.id, 'a', at(100), 'HTTP 410');
      expect(await current().findDelivery('default', d.id)).toMatchObject({ id: d.id, status: 'failed', lastError: 'HTTP 410', payload: d.payload });
      expect(await current().findDelivery('acme', d.id)).toBeNull();
      expect(await current().findDelivery('default', 'dlv_missing')).toBeNull();
      expect(await current().retryDelivery('acme', d.id, at(500))).toBeNull();
      expect(await current().retryDelivery('default', 'dlv_missing', at(500))).toBeNull();
      const retried = await current().retryDelivery('default', d.id, at(1_000));
      expect(retried).toMatchObject({
        outcome: 'retried',
        delivery: { id: d.id, status: 'pending', attempts: 0, nextAttemptAt: at(1_000), retriedAt: at(1_000), finishedAt: null, lastError: 'HTTP 410', payload: d.payload },
      });
      // Pending now: asking again changes nothing.
      expect(await current().retryDelivery('default', d.id, at(2_000))).toMatchObject({ outcome: 'not_failed', delivery: { nextAttemptAt: at(1_000) } });
      expect(await claim('b', 1_000)).toMatchObject([{ id: d.id, attempts: 1 }]);
    });

    it('keeps the deliveries of a deleted session: they are still owed', async () => {
      await endRun('ses_a', [delivery('ses_a')]);
      expect(await current().deleteSession('ses_a')).toBe(true);
      expect(await current().countPendingDeliveries()).toBe(1);
    });

    it('purges settled deliveries finished before a time, never pending ones', async () => {
      const [old, fresh, waiting] = [delivery('ses_a'), delivery('ses_a'), delivery('ses_a')];
      await endRun('ses_a', [old, fresh, waiting]);
      await claim('a', 0);
      await current().markDelivered(old.id, 'a', at(1_000));
      await current().markFailed(fresh.id, 'a', at(5_000), 'x');
      await current().scheduleRetry(waiting.id, 'a', at(100), 'x');
      expect(await current().purgeDeliveries(at(4_000), 100)).toBe(1);
      expect(await current().purgeDeliveries(at(10 ** 9), 100)).toBe(1);
      expect((await current().listDeliveries({ tenant: 'default', limit: 10 })).items.map((d) => d.id)).toEqual([waiting.id]);
    });
  });
}
