/**
 * What a session's stored text counts towards its tenant's storage quota, the
 * same in every store: UTF-16 units of the JSON written.
 */
import type { SessionRow } from './store.js';

/** The rendered events and messages of a write. */
export function sizeOf(...texts: (readonly string[])[]): number {
  let total = 0;
  for (const list of texts) for (const text of list) total += text.length;
  return total;
}

/** A new session: its first events, its snapshot and its own text (a 100 KB system prompt is stored, whether or not it runs). */
export function createdSize(row: SessionRow, eventData: readonly string[]): number {
  return sizeOf(eventData) + row.snapshot.length + JSON.stringify(row.info.metadata).length + (row.info.system_prompt?.length ?? 0);
}
