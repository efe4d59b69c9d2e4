/**
 * Takes rows up to `limit`, and while their sizes stay within `maxBytes` (the
 * first row always). Rows are read one by one: nothing past the page is
 * fetched. `more`: a row was left for the next page.
 */
export function takePage<R>(rows: Iterable<R>, size: (row: R) => number, limit: number, maxBytes = Number.POSITIVE_INFINITY): { page: R[]; more: boolean } {
  const page: R[] = [];
  let bytes = 0;
  for (const row of rows) {
    const n = size(row);
    if (page.length >= limit || (page.length > 0 && bytes + n > maxBytes)) return { page, more: true };
    page.push(row);
    bytes += n;
  }
  return { page, more: false };
}
