/**
 * A bounded fan-out for the HTTP server's reads of many streams (the live
 * view's backfill, the metrics scrape): enough calls at once to hide the
 * backend's round trips, few enough not to crowd out the bus's own traffic.
 *
 * @module
 */

/** Runs `f` on every item, at most `n` at once; the results in the items' order. */
export async function pool<T, R>(items: readonly T[], n: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}
