/**
 * The one retry delay (sdk/backoff.ts), behind the client's reconnect, a
 * subscription reader's retries and ampd's Redis reconnection: capped
 * exponential growth with jitter, so that clients cut off by one outage do
 * not come back in step.
 */
import { expect, test } from "bun:test";
import { Backoff, backoffDelay } from "../../sdk/backoff.ts";

test("each wait lies between half and all of the capped exponential delay", () => {
  for (let attempt = 0; attempt < 12; attempt++) {
    const base = Math.min(50 * 2 ** attempt, 1000);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(attempt);
      expect(d).toBeGreaterThanOrEqual(Math.floor(base / 2));
      expect(d).toBeLessThanOrEqual(base);
    }
  }
});

test("the waits are jittered: a thousand clients after one outage do not retry at one instant", () => {
  const firstRetries = Array.from({ length: 1000 }, () => new Backoff({ initialMs: 100 }).next());
  expect(new Set(firstRetries).size).toBeGreaterThan(30); // 50..100 ms, spread out
  const atCap = Array.from({ length: 1000 }, () => backoffDelay(20, { maxMs: 5000 }));
  expect(new Set(atCap).size).toBeGreaterThan(300);
  expect(Math.min(...atCap)).toBeLessThan(3500);
  expect(Math.max(...atCap)).toBeGreaterThan(4500);
});

test("jitter 0 gives the plain exponential delays; reset starts over", () => {
  const b = new Backoff({ initialMs: 10, maxMs: 80, jitter: 0 });
  expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([10, 20, 40, 80, 80]);
  b.reset();
  expect(b.next()).toBe(10);
  expect(backoffDelay(3, { initialMs: 10, jitter: 5 })).toBeGreaterThanOrEqual(0); // jitter is clamped to 1
  expect(backoffDelay(1e9)).toBeLessThanOrEqual(1000); // huge attempt counts stay capped
});
