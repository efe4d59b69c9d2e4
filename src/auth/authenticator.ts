/**
 * Who a presented key belongs to. Keys come from the configuration and from
 * the store (managed with `bamboo-server keys`); stored keys are looked up by
 * hash and cached briefly, so a new or revoked key takes effect within
 * `cacheMs` on every instance.
 */
import type { KeyStore } from '../storage/store.js';
import { type ConfiguredKey, hashKey, sameHash } from './keys.js';

export interface Principal {
  tenant: string;
  /** The stored key's id, or `config` for a key from BAMBOO_API_KEYS. */
  keyId: string;
}

export interface AuthenticatorOptions {
  configured: readonly ConfiguredKey[];
  store?: KeyStore;
  /** How long a stored key's lookup (found or not) is trusted. Default 10 s. */
  cacheMs?: number;
}

export class Authenticator {
  private readonly configured: { tenant: string; hash: string }[];
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();
  private storedCount: { value: number; until: number } | null = null;
  /** Set once a key has been seen: revoking the last key closes the API rather than opening it. */
  private keyed = false;
  private readonly cacheMs: number;

  constructor(private readonly options: AuthenticatorOptions) {
    this.configured = options.configured.map(({ tenant, key }) => ({ tenant, hash: hashKey(key) }));
    this.cacheMs = options.cacheMs ?? 10_000;
  }

  /**
   * True when at least one key exists, or has existed since this process
   * started: then every API request needs one. (A restart with no key left
   * opens the API again, as a start without keys does.)
   */
  async required(): Promise<boolean> {
    const known = this.requiredIfKnown();
    if (known !== null) return known;
    this.storedCount = { value: await this.options.store!.countActiveApiKeys(), until: Date.now() + this.cacheMs };
    this.keyed ||= this.storedCount.value > 0;
    return this.keyed;
  }

  /** `required()` without waiting, while the answer is cached; null when the store must be asked. */
  requiredIfKnown(): boolean | null {
    if (this.configured.length > 0 || this.keyed) return true;
    if (!this.options.store) return false;
    if (!this.storedCount || this.storedCount.until <= Date.now()) return null;
    return this.storedCount.value > 0;
  }

  /** The key's tenant, or null for an unknown or revoked key. */
  async authenticate(key: string): Promise<Principal | null> {
    const hash = hashKey(key);
    // Every configured key is compared, so the time taken says nothing about which one matched.
    let match: Principal | null = null;
    for (const entry of this.configured) if (sameHash(entry.hash, hash)) match = { tenant: entry.tenant, keyId: 'config' };
    if (match || !this.options.store) return match;
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) return cached.principal;
    const record = await this.options.store.findApiKey(hash);
    const principal = record ? { tenant: record.tenant, keyId: record.id } : null;
    // Bounded: a flood of wrong keys must not grow the cache without end.
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(hash, { principal, until: now + this.cacheMs });
    return principal;
  }
}
