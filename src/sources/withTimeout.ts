// Waiting with a bound: a source's stop must not hang on a peer that does not answer.

/** `p`'s value, or undefined once `ms` passed without it (the timer is cleared either way). */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
