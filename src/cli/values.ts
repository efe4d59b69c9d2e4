/**
 * The kinds of value a setting takes. Each parses the text of an environment
 * variable or a flag and, when it is wrong, says what it must be in words a
 * user can act on ("must be a whole number from 0 to 65535").
 */
import { z } from 'zod';
import { type ConfiguredKey, parseConfiguredKeys } from '../auth/keys.js';
import { isPostgresUrl, redactUrl } from '../storage/postgres/connection.js';
import { checkSecret, isReceiverUrl } from '../webhooks/urls.js';

export interface Value<T> {
  /** Parses the raw text (never empty: an empty variable counts as unset). */
  schema: z.ZodType<T, string>;
  /** What `--help` shows after the flag, e.g. `<0-65535>`; empty for a switch. */
  placeholder: string;
  /** A switch is a flag without a value (`--inspect`), or `0`/`1` in the environment. */
  isSwitch?: boolean;
  /** How a value is written back as text, for `--help` and the README. */
  format(value: T): string;
  /** How the raw text may be quoted in an error, when not as it is (a password in a URL). */
  shown?(raw: string): string;
}

export function integer(min: number, max?: number): Value<number> {
  const message = max === undefined ? `must be a whole number of at least ${min}` : `must be a whole number from ${min} to ${max}`;
  const range = z.number().int().min(min, { error: message });
  return {
    schema: z
      .string()
      .trim()
      .regex(/^\d+$/, { error: message })
      .transform(Number)
      .pipe(max === undefined ? range : range.max(max, { error: message })),
    placeholder: max === undefined ? '<n>' : `<${min}-${max}>`,
    format: String,
  };
}

export const port = integer(0, 65535);

/** Node's timers take at most 2^31 − 1 ms (about 24.8 days); a larger delay would silently become 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function milliseconds(min: number): Value<number> {
  return { ...integer(min, MAX_TIMER_MS), placeholder: '<ms>' };
}

export const text: Value<string> = { schema: z.string(), placeholder: '<text>', format: (value) => value };

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** A SQLite file, `:memory:`, or a PostgreSQL URL; a URL of another scheme (`mysql://`, `postgress://`) would otherwise become a file of that name. */
export const database: Value<string> = {
  schema: z.string().superRefine((value, ctx) => {
    const scheme = SCHEME.exec(value.trim())?.[1];
    if (scheme !== undefined && !isPostgresUrl(value)) {
      ctx.addIssue({ code: 'custom', message: `must be a SQLite file, :memory:, or a postgres:// (or postgresql://) URL; ${scheme}:// is not a database this server opens` });
    }
  }),
  placeholder: '<path|url>',
  format: (value) => value,
  shown: redactUrl,
};

export const toggle: Value<boolean> = {
  schema: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['0', '1', 'true', 'false'], { error: 'must be 1 or 0 (true or false)' }))
    .transform((value) => value === '1' || value === 'true'),
  placeholder: '',
  isSwitch: true,
  format: (value) => (value ? '1' : '0'),
};

export function oneOf<const T extends string>(choices: readonly T[]): Value<T> {
  return {
    schema: z.string().trim().pipe(z.enum(choices, { error: `must be one of ${choices.join(', ')}` })),
    placeholder: `<${choices.join('|')}>`,
    format: (value) => value,
  };
}

/** Comma-separated items, blanks dropped. */
export const list: Value<string[]> = {
  schema: z.string().transform((raw) => raw.split(',').map((item) => item.trim()).filter((item) => item.length > 0)),
  placeholder: '<a,b,…>',
  format: (value) => value.join(','),
};

/** Names a `Host` header may carry: `*`, or a name or address with an optional port; never a URL. */
export const hostNames: Value<string[]> = {
  schema: list.schema.superRefine((items, ctx) => {
    const wrong = items.find((item) => item !== '*' && !/^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(:\d{1,5})?$/i.test(item));
    if (wrong !== undefined) ctx.addIssue({ code: 'custom', message: `must be host names, comma-separated (e.g. api.example.com), or *; ${JSON.stringify(wrong)} is not` });
  }),
  placeholder: '<name,…>',
  format: (value) => value.join(','),
};

/** Browser origins: `scheme://host[:port]`, nothing after. */
export const origins: Value<string[]> = {
  schema: list.schema.superRefine((items, ctx) => {
    const wrong = items.find((item) => !isOrigin(item));
    if (wrong !== undefined) ctx.addIssue({ code: 'custom', message: `must be origins, comma-separated, as a browser sends them (e.g. https://app.example.com); ${JSON.stringify(wrong)} is not` });
  }),
  placeholder: '<origin,…>',
  format: (value) => value.join(','),
};

function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === text.replace(/\/+$/, '').toLowerCase();
  } catch {
    return false;
  }
}

/** `BAMBOO_API_KEYS`: comma-separated `tenant:key` pairs, each key of 24 characters or more. Never echoed. */
export const apiKeys: Value<ConfiguredKey[]> = {
  schema: z.string().transform((raw, ctx) => {
    try {
      return parseConfiguredKeys(raw);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }),
  placeholder: '<tenant:key,…>',
  format: () => '…',
};

/** Comma-separated `http://` or `https://` URLs, blanks dropped. */
export const urls: Value<string[]> = {
  schema: list.schema.superRefine((items, ctx) => {
    // Named by position, not echoed: a URL may carry a token.
    const wrong = items.findIndex((item) => !isReceiverUrl(item));
    if (wrong >= 0) ctx.addIssue({ code: 'custom', message: `must be http:// or https:// URLs, comma-separated; entry ${wrong + 1} is not` });
  }),
  placeholder: '<url,…>',
  format: (value) => value.join(','),
};

/** A Standard Webhooks signing secret: `whsec_` and the base64 of 24 to 64 bytes. Never echoed. */
export const webhookSecret: Value<string> = {
  schema: z
    .string()
    .trim()
    .superRefine((secret, ctx) => {
      try {
        checkSecret(secret);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
  placeholder: '<whsec_…>',
  format: () => '…',
};
