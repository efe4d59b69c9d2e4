/** Whether a key is needed, as keys come and go in the store. */
import { afterEach, describe, expect, it } from 'vitest';
import { Authenticator } from '../../src/auth/authenticator.js';
import { generateKey } from '../../src/auth/keys.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';

let store: SqliteStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

describe('Authenticator', () => {
  it('asks for keys once one is stored, and keeps asking after the last one is revoked', async () => {
    store = new SqliteStore(':memory:');
    const auth = new Authenticator({ configured: [], store, cacheMs: 0 });
    expect(await auth.required()).toBe(false);

    const key = generateKey();
    await store.createApiKey({ id: key.id, tenant: 'acme', name: null, hash: key.hash, created_at: new Date().toISOString() });
    expect(await auth.required()).toBe(true);
    expect(await auth.authenticate(key.key)).toEqual({ tenant: 'acme', keyId: key.id });

    await store.revokeApiKey(key.id, new Date().toISOString());
    // Closed, not open: the revoked key fails and no key is not enough.
    expect(await auth.required()).toBe(true);
    expect(auth.requiredIfKnown()).toBe(true);
    expect(await auth.authenticate(key.key)).toBeNull();
    // A process started now, with no key left, is open again.
    expect(await new Authenticator({ configured: [], store, cacheMs: 0 }).required()).toBe(false);
  });
});
