/** Waiting for a promise, but only so long: the cache answers itself when upstream is slow. */
export type Within<T> = { settled: true; value: T } | { settled: false };

/**
 * The promise's value (or its rejection) if it settles within `ms`, else `{ settled: false }`;
 * the promise itself runs on either way.
 */
export async function firstWithin<T>(promise: Promise<T>, ms: number): Promise<Within<T>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Within<T>>((resolve) => {
    timer = setTimeout(() => resolve({ settled: false }), ms);
  });
  try {
    return await Promise.race([promise.then((value) => ({ settled: true as const, value })), late]);
  } finally {
    clearTimeout(timer);
  }
}
