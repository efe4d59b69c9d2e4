/** A full collection, for heap measurements; the process must run with --expose-gc. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('Run this worker with --expose-gc');
  gc();
  gc();
}
