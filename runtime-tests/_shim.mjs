// The little that differs between the runtimes a smoke suite runs on, so that
// one suite file serves them all (as denoland/std runs its `_test.ts` files on
// Node and Bun through a shim):
// - `test(name, fn)`: `Deno.test` on Deno (with its leak sanitizers), `node:test` on Node;
// - `sdk`: the SDK as each runtime's users get it: `mod.ts` on Deno (JSR),
//   the npm build `dist/mod.js` on Node;
// - `ampdSocket()`: the socket of the ampd that `with_ampd.mjs` started.
// Assertions are `node:assert/strict`, which Deno provides offline.

/** The runtime running this suite: "deno" or "node". */
export const RUNTIME = globalThis.Deno !== undefined ? "deno" : "node";

/** Registers a test with the runtime's own runner. */
export const test = RUNTIME === "deno" ? globalThis.Deno.test : (await import("node:test")).test;

/** The SDK under test. */
export const sdk = RUNTIME === "deno" ? await import("../mod.ts") : await import("../dist/mod.js");

/** The socket of the ampd serving this run (`$AMPD_SOCKET`, set by `with_ampd.mjs`). */
export function ampdSocket() {
  const socket = RUNTIME === "deno" ? globalThis.Deno.env.get("AMPD_SOCKET") : process.env.AMPD_SOCKET;
  if (!socket) {
    throw new Error("AMPD_SOCKET is not set: run the smoke suites with `npm run test:deno` / `npm run test:node` (they start ampd)");
  }
  return socket;
}
