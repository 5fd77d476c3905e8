/**
 * What the /metrics hooks cost on ampd's add path, in process: (a) the hook
 * alone (two performance.now() and one histogram observe per add), (b) the
 * whole add path through a Session on the memory backend, which includes it.
 * Run: `npx bun bench/metrics_hooks.ts`. Timings are printed, never asserted.
 *
 * @module
 */
import { MemoryBackend } from "../sdk/backend/memory.ts";
import { Logger } from "../sidecar/log.ts";
import { ServerState } from "../sidecar/server_state.ts";
import { Session } from "../sidecar/session.ts";
import { RoundTrips } from "../sidecar/metrics.ts";
import { addFrames, helloFrame } from "./_frames.ts";
import { prepare } from "./_messages.ts";

// (a) the hook alone: two performance.now() and one observe per add
const h = new RoundTrips();
let sink = 0;
for (let round = 0; round < 3; round++) {
  const N = 2_000_000;
  const t = performance.now();
  for (let i = 0; i < N; i++) { const t0 = performance.now(); sink += i; h.observe(performance.now() - t0); }
  console.log(`hook alone: ${((performance.now() - t) * 1e6 / N).toFixed(0)} ns per add`);
}
// (b) the whole in-process add path through a Session on memory (what the hook is a part of)
const msgs = prepare(20_000);
for (let r = 0; r < 5; r++) {
  const state = new ServerState({ maxFrame: 16 * 1024 * 1024, version: "bench" }, new MemoryBackend(), new Logger("error"));
  const session = new Session(1, { write: () => {}, buffered: () => 0, close: () => {} }, state);
  session.onData(helloFrame("inproc"));
  const frames = addFrames(`s.${r}`, msgs.bytes);
  const t = performance.now();
  for (let p = 0; p < frames.buf.length; p += 65536) session.onData(frames.buf.subarray(p, Math.min(p + 65536, frames.buf.length)));
  while (state.counters.added < msgs.bytes.length) await new Promise((res) => setImmediate(res));
  console.log(`session add path: ${((performance.now() - t) * 1000 / msgs.bytes.length).toFixed(2)} µs per add (${state.metrics.roundTrips.add.count} timed)`);
  session.onClose();
}
