/**
 * The sidecar's add path without a socket, on the memory backend, in the
 * bench's own process: MessagePack decode alone, decode + validate (what
 * ampd's `add` op runs), `MemoryBackend.add()` alone, and a whole sidecar
 * `Session` fed pre-built frames in 64 KiB chunks with a wire that drops the
 * replies.
 *
 * @module
 */
import { decode, decodeValue } from "../sdk/codec/codec.ts";
import { MemoryBackend } from "../sdk/backend/memory.ts";
import { Logger } from "../sidecar/log.ts";
import { ServerState } from "../sidecar/server_state.ts";
import { Session } from "../sidecar/session.ts";
import { addFrames, helloFrame } from "./_frames.ts";
import type { Prepared } from "./_messages.ts";
import { log } from "./_proc.ts";
import type { Recorder } from "./_rows.ts";

/** The paths of the in-process rows. */
export const IN_PROCESS = {
  msgpack: "in process: MessagePack decode only (no validation)",
  decode: "in process: decode + validate only",
  memAdd: "in process: MemoryBackend.add only",
  session: "in process: Session (frames in, replies out)",
} as const;

/** One round of the in-process rows over `msgs`, recorded as system `backend`, table `table`. */
export async function inProcessRound(
  { rec, msgs, round: r }: { rec: Recorder; msgs: Prepared; round: number },
  { system, table }: { system: string; table: string },
): Promise<void> {
  const N = msgs.bytes.length;
  const ROW = IN_PROCESS;
  const at = (path: string) => ({ backend: system, name: `${table}|${path}`, pids: {} });
  log(`in-process add path (${N} messages)`);
  await rec.measure(at(ROW.msgpack), async () => {
    for (let i = 0; i < N; i++) decodeValue(msgs.bytes[i]);
    return N;
  });
  await rec.measure(at(ROW.decode), async () => {
    for (let i = 0; i < N; i++) decode(msgs.bytes[i]);
    return N;
  });
  const mem = new MemoryBackend();
  await rec.measure(at(ROW.memAdd), async () => {
    for (let i = 0; i < N; i++) await mem.add(`inproc.${r}`, { headers: msgs.headers[i], msg: msgs.bytes[i].slice() });
    return N;
  });
  await mem.close();
  const backend = new MemoryBackend();
  const state = new ServerState({ maxFrame: 16 * 1024 * 1024, version: "bench" }, backend, new Logger("error"));
  let out = 0;
  const session = new Session(1, { write: (b) => void (out += b.length), buffered: () => 0, close: () => {} }, state);
  session.onData(helloFrame("inproc"));
  const frames = addFrames(`inproc.s.${r}`, msgs.bytes);
  await rec.measure(at(ROW.session), async () => {
    // Fed in 64 KiB chunks, as a socket would deliver them, letting replies settle in between.
    const CHUNK = 64 * 1024;
    for (let p = 0; p < frames.buf.length; p += CHUNK) {
      session.onData(frames.buf.subarray(p, Math.min(p + CHUNK, frames.buf.length)));
      await null;
    }
    // The session takes up what exceeded its 0.5 ms slice in later turns (setImmediate): let those turns run.
    const until = performance.now() + 60_000;
    while (state.counters.added + state.counters.errors < N && performance.now() < until) await new Promise((resolve) => setImmediate(resolve));
    await state.waitIdle();
    return N;
  });
  if (state.counters.added !== N || state.counters.errors !== 0) {
    throw new Error(`in-process session: added ${state.counters.added}, errors ${state.counters.errors}`);
  }
  session.onClose();
  await backend.close();
}
