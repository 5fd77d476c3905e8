/**
 * The `BusError` a call is refused with; fails the test when the call
 * succeeds or throws anything else.
 *
 * @example
 * ```ts
 * const e = await refusal(bus.send(asSomeoneElse));
 * expect(e.code).toBe("FORBIDDEN");
 * ```
 *
 * @module
 */
import { BusError } from "../../mod.ts";

/** Awaits `p` and returns the `BusError` it rejects with. */
export async function refusal(p: Promise<unknown>): Promise<BusError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BusError) return e;
    throw e;
  }
  throw new Error("should have been refused");
}
