/**
 * Storage incidents, told once: the first failure of a kind is logged with
 * what failed, the rest are counted, and recovery is logged with the count and
 * how long it lasted. Readiness fails while an incident is open.
 */
import type { Logger } from 'pino';
import { StorageUnavailable, type Store } from '../storage/store.js';

/** Methods whose success proves storage can write again. */
const WRITES = new Set<string | symbol>(['commit', 'createSession', 'deleteSession', 'renewLeases', 'deleteSessionsIdleSince']);

/** Whether a call that succeeded wrote something: renewing no lease, or deleting nothing, may write nothing, and proves nothing. */
function wrote(property: string | symbol, args: unknown[], resolved: unknown): boolean {
  if (property === 'ping') return (args[0] as { write?: boolean } | undefined)?.write === true;
  if (!WRITES.has(property)) return false;
  if (property === 'renewLeases') return (args[1] as readonly unknown[]).length > 0;
  if (property === 'deleteSessionsIdleSince') return (resolved as readonly unknown[]).length > 0;
  return true;
}

export class StorageHealth {
  private incident: { reason: StorageUnavailable['reason']; since: number; failures: number } | null = null;

  constructor(private readonly logger: Logger) {}

  get failing(): boolean {
    return this.incident !== null;
  }

  failed(error: StorageUnavailable): void {
    if (this.incident) {
      this.incident.failures++;
      return;
    }
    this.incident = { reason: error.reason, since: Date.now(), failures: 1 };
    this.logger.error({ reason: error.reason, err: error.cause ?? error }, `storage failing (${error.reason}): ${error.message}; requests get 503/507 until it recovers`);
  }

  succeeded(): void {
    if (!this.incident) return;
    const { reason, since, failures } = this.incident;
    this.incident = null;
    this.logger.warn({ reason, failures, seconds: Math.round((Date.now() - since) / 100) / 10 }, `storage recovered after ${failures} failed operations`);
  }
}

/** The store, with its failures and recoveries reported to `health`. */
export function watchStorage<S extends Store>(store: S, health: StorageHealth): S {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.then(
          (resolved) => {
            if (wrote(property, args, resolved)) health.succeeded();
            return resolved;
          },
          (error: unknown) => {
            // A pool busy under load is not an outage: readiness holds (the request itself still gets 503).
            if (error instanceof StorageUnavailable && error.reason !== 'busy') health.failed(error);
            throw error;
          },
        );
      };
    },
  });
}
