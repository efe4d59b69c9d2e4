/**
 * Pages of the log and the transcript, written as they are read: in chunks of
 * at most `CHUNK_BYTES`, each after the client took the one before. A page
 * stops at its count or its byte budget (always holding at least one item), so
 * a client that never reads costs one chunk, not a whole page, and only for
 * the budget's `stallMs`.
 */
import type { Response } from 'express';
import type { TenantSessions } from '../runtime/runtime.js';

export const CHUNK_BYTES = 256 * 1024;

export interface PageBudget {
  limit: number;
  maxBytes: number;
  /** How long the client may leave a chunk untaken before its response is cut (it holds the chunk, and a request in flight, until then). */
  stallMs: number;
}

/** Resolves once the client has taken what was written, or has gone, or was cut for not reading within `stallMs`. */
function drained(res: Response, stallMs: number): Promise<void> {
  if (!res.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(stalled);
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    const stalled = setTimeout(() => {
      res.destroy();
      done();
    }, stallMs);
    res.on('drain', done);
    res.on('close', done);
  });
}

interface Chunk<T> {
  items: T[];
  /** Where the next chunk starts, and the page's cursor if this chunk is its last; null when nothing follows. */
  next: string | number | null;
}

/**
 * Writes `{"<field>":[…],"<cursorField>":…}`. `read(from, limit, maxBytes)`
 * reads one chunk; the first read happens before anything is written, so a
 * missing session is still a clean 404.
 */
async function writePage<T>(
  res: Response,
  field: string,
  cursorField: string,
  start: string | number | null,
  budget: PageBudget,
  read: (from: string | number | null, limit: number, maxBytes: number) => Promise<Chunk<T>>,
  empty: string | number | null,
): Promise<void> {
  let chunk = await read(start, budget.limit, Math.min(CHUNK_BYTES, budget.maxBytes));
  res.status(200).type('application/json');
  res.write(`{"${field}":[`);
  let count = 0;
  let bytes = 0;
  let cursor: string | number | null = empty;
  for (;;) {
    const text = chunk.items.map((item) => JSON.stringify(item)).join(',');
    res.write(count > 0 && text ? `,${text}` : text);
    count += chunk.items.length;
    // The budget is in bytes sent (UTF-8); storage sizes its chunks by characters, so a page stops by what was written.
    bytes += Buffer.byteLength(text);
    cursor = chunk.next;
    if (chunk.items.length === 0 || chunk.next === null || count >= budget.limit || bytes >= budget.maxBytes || res.destroyed) break;
    await drained(res, budget.stallMs);
    if (res.destroyed) break;
    chunk = await read(chunk.next, budget.limit - count, Math.min(CHUNK_BYTES, budget.maxBytes - bytes));
  }
  res.end(`],"${cursorField}":${JSON.stringify(cursor)}}`);
}

/** `{ events, next_after }` */
export function writeEventsPage(res: Response, sessions: TenantSessions, id: string, after: number, budget: PageBudget): Promise<void> {
  return writePage(
    res,
    'events',
    'next_after',
    after,
    budget,
    async (from, limit, maxBytes) => {
      // A chunk cut short by its byte budget may be followed by more; an empty one ends the page (its next_after is where it began).
      const page = await sessions.readEvents(id, Number(from), limit, maxBytes);
      return { items: page.events, next: page.next_after };
    },
    after,
  );
}

/** `{ messages, next_cursor }` */
export function writeMessagesPage(res: Response, sessions: TenantSessions, id: string, cursor: string | undefined, budget: PageBudget): Promise<void> {
  return writePage(
    res,
    'messages',
    'next_cursor',
    cursor ?? null,
    budget,
    async (from, limit, maxBytes) => {
      const page = await sessions.readMessages(id, { limit, cursor: from === null ? undefined : String(from), maxBytes });
      return { items: page.messages, next: page.next_cursor };
    },
    null,
  );
}
