/** Rejects with `message()` if `promise` has not settled within `ms`: a stuck turn must fail the scenario, not hang the run. */
export function within<T>(promise: Promise<T>, ms: number, message: () => string, error: (message: string) => Error = (text) => new Error(text)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error(message())), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** How long one step of a turn may take before the harness calls it stuck. */
export const STEP_TIMEOUT_MS = 30_000;
