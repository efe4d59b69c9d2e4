/**
 * API keys: random, shown once, stored and compared only as SHA-256 hashes.
 * A key belongs to a tenant; every session belongs to the tenant whose key
 * created it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const KEY_MIN_LENGTH = 24;
const TENANT = /^[A-Za-z0-9][\w.-]{0,63}$/;

export interface ConfiguredKey {
  tenant: string;
  key: string;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new key and its id: 256 random bits; the key is printed once and never stored. */
export function generateKey(): { id: string; key: string; hash: string } {
  const key = `bmb_${randomBytes(32).toString('base64url')}`;
  return { id: `key_${randomBytes(9).toString('base64url')}`, key, hash: hashKey(key) };
}

export function isTenantName(tenant: string): boolean {
  return TENANT.test(tenant);
}

/**
 * `BAMBOO_API_KEYS`: comma-separated `tenant:key` pairs. Throws a message that
 * names the faulty entry by position, never by its key.
 */
export function parseConfiguredKeys(text: string): ConfiguredKey[] {
  const seen = new Map<string, number>();
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry, i) => {
      const colon = entry.indexOf(':');
      const tenant = colon > 0 ? entry.slice(0, colon) : '';
      const key = colon > 0 ? entry.slice(colon + 1) : '';
      if (!isTenantName(tenant)) throw new Error(`entry ${i + 1} must be tenant:key with a tenant of letters, digits, '.', '_' or '-'`);
      if (key.length < KEY_MIN_LENGTH) throw new Error(`entry ${i + 1} (tenant ${tenant}): the key must have at least ${KEY_MIN_LENGTH} characters`);
      // A key names one tenant: given twice, which one it opens would depend on the order.
      const first = seen.get(key);
      if (first !== undefined) throw new Error(`entry ${i + 1} (tenant ${tenant}) repeats the key of entry ${first}: give each entry a key of its own`);
      seen.set(key, i + 1);
      return { tenant, key };
    });
}

/** Compares two hex hashes in constant time. */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}
