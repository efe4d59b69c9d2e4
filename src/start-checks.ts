/**
 * What must hold before a server starts: nothing exposed that the operator did
 * not choose to expose, and webhook receivers that can be reached and signed.
 */
import { checkSecret, receiverUrl } from './webhooks/urls.js';
import type { AccessSettings, WebhookSettings } from './options.js';

/** A configuration that must not start: it would expose the server, or every tenant's sessions. */
export class UnsafeConfiguration extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeConfiguration';
  }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Refuses what would expose the server. True when the operator chose to serve other machines without keys (to be warned of). */
export function checkAccess(access: AccessSettings, keysExist: boolean, host: string | undefined, inspecting: boolean): boolean {
  if (inspecting && keysExist && !access.inspectorWithKeys) {
    throw new UnsafeConfiguration(
      'the Stately inspector shows every tenant\'s sessions, and API keys exist: turn BAMBOO_INSPECT off, or set BAMBOO_INSPECT_ALLOW_WITH_KEYS=1',
    );
  }
  if (host === undefined || LOOPBACK.has(host) || /^127\./.test(host) || keysExist) return false;
  if (!access.allowUnauthenticated) {
    throw new UnsafeConfiguration(
      `HOST ${host} is reachable from other machines, and no API key exists: set BAMBOO_API_KEYS=tenant:key (a key of 24+ characters), ` +
        'or create one with `bamboo-server keys create --tenant NAME`; BAMBOO_ALLOW_UNAUTHENTICATED=1 starts without keys anyway',
    );
  }
  return true;
}

/** Receivers must be http(s) URLs, signed with a secret of the Standard Webhooks form. */
export function checkWebhooks(webhooks: WebhookSettings | undefined): void {
  if (!webhooks?.urls.length) return;
  for (const url of webhooks.urls) receiverUrl(url);
  try {
    checkSecret(webhooks.secret);
  } catch (error) {
    throw new Error(`The webhook secret ${(error as Error).message}`);
  }
}
