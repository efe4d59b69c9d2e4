/** Receiver URLs and the signing secret, as the operator gives them: checked once, shown without credentials. */
import { Webhook } from 'standardwebhooks';

/** True for an absolute `http:` or `https:` URL. */
export function isReceiverUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/** The URL if it is a receiver's; otherwise throws, saying what it must be. */
export function receiverUrl(text: string): string {
  if (!isReceiverUrl(text)) throw new Error(`The webhook URL "${shownUrl(text)}" is not an http:// or https:// URL`);
  return text;
}

/** The URL for logs and the API: its origin and path, without a password or a query string that may hold a token. */
export function shownUrl(text: string): string {
  try {
    const url = new URL(text);
    return `${url.origin}${url.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

/**
 * Where a request goes, and how it authenticates: `fetch` refuses a URL with
 * a user or password in it, so they travel as `Authorization: Basic`, as
 * curl sends them.
 */
export function requestTarget(text: string): { url: string; authorization?: string } {
  const url = new URL(text);
  if (url.username === '' && url.password === '') return { url: text };
  const credentials = `${decoded(url.username)}:${decoded(url.password)}`;
  url.username = '';
  url.password = '';
  return { url: url.href, authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
}

/** Percent-escapes decoded; a stray `%` (which URL parsing leaves as it is) kept as written. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Standard Webhooks secrets are 24 to 64 random bytes. */
const SECRET = /^whsec_([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Throws unless `secret` is `whsec_` and the base64 of 24 to 64 bytes; the message never repeats it. */
export function checkSecret(secret: string): void {
  const bytes = SECRET.test(secret) ? Buffer.from(secret.slice('whsec_'.length), 'base64').length : 0;
  if (bytes < 24 || bytes > 64) throw new Error('must be whsec_ followed by the base64 of 24 to 64 random bytes (as the Standard Webhooks spec has it)');
  // The signer must accept it too.
  new Webhook(secret);
}
