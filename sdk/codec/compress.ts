/**
 * Compression of `spec` + `payload` into `compressed`: raw DEFLATE (or gzip)
 * through `node:zlib` where the runtime has it (Node, Bun, Deno: ~10x faster
 * than streams for small messages), else the native CompressionStream, else
 * the compression-streams-polyfill. All produce standard DEFLATE, so output
 * from any runtime decompresses on every other.
 *
 * @module
 */
import type { CompressedPayload, CompressionAlgorithm, TaskSpec } from "../envelope/envelope.ts";
import { CompressionError } from "../errors.ts";
import { decodeValue, encodeValue } from "./value.ts";
import { loadNodeZlib, type NodeZlib } from "../runtime.ts";

/**
 * Largest decompressed size accepted by default: 16 MiB.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_DECOMPRESSED } from "@ampbus/ampbus";
 *
 * if (DEFAULT_MAX_DECOMPRESSED !== 16 * 1024 * 1024) throw new Error("unexpected default");
 * ```
 */
export const DEFAULT_MAX_DECOMPRESSED = 16 * 1024 * 1024;
/**
 * Size of `spec` + `payload` above which `compressMessage()` compresses by default: 1 KiB.
 *
 * @example
 * ```ts
 * import { compressMessage, createMessage, DEFAULT_COMPRESS_THRESHOLD } from "@ampbus/ampbus";
 *
 * const small = createMessage({ type: "event", sender: "a", receiver: "b", payload: "x".repeat(DEFAULT_COMPRESS_THRESHOLD / 2) });
 * if ((await compressMessage(small)).compressed !== undefined) throw new Error("under the threshold: left as is");
 * ```
 */
export const DEFAULT_COMPRESS_THRESHOLD = 1024;

/**
 * Options of compression.
 *
 * @example
 * ```ts
 * import { compressBytes, type CompressOptions } from "@ampbus/ampbus";
 *
 * const options: CompressOptions = { alg: "gzip", level: 9 };
 * const z = await compressBytes(new TextEncoder().encode("a".repeat(1000)), options);
 * if (z[0] !== 0x1f || z[1] !== 0x8b) throw new Error("not a gzip header");
 * ```
 */
export interface CompressOptions {
  /** Defaults to `"deflate-raw"`. */
  alg?: CompressionAlgorithm;
  /** zlib level 0..9 where `node:zlib` is used. Defaults to 1 (fastest; agent text still shrinks ~7x). */
  level?: number;
  /** Compress only when `spec` + `payload` encode to more than this many bytes. Defaults to 1 KiB. */
  threshold?: number;
}

/**
 * Options of decompression.
 *
 * @example
 * ```ts
 * import { compressBytes, CompressionError, decompressBytes, type DecompressOptions } from "@ampbus/ampbus";
 *
 * const options: DecompressOptions = { maxSize: 100 };
 * const bomb = await compressBytes(new Uint8Array(10_000));
 * try {
 *   await decompressBytes(bomb, options);
 *   throw new Error("10 000 bytes must not inflate under a 100-byte limit");
 * } catch (e) {
 *   if (!(e instanceof CompressionError) || e.code !== "DECOMPRESSION_LIMIT") throw e;
 * }
 * ```
 */
export interface DecompressOptions {
  /** Refuse to produce more than this many bytes. Defaults to 16 MiB. */
  maxSize?: number;
}

/**
 * Which implementation compresses on this runtime: useful in benchmarks and bug reports.
 *
 * @example
 * ```ts
 * import { type CompressionEngine, compressionEngine } from "@ampbus/ampbus";
 *
 * const engine: CompressionEngine = await compressionEngine();
 * if (!["node:zlib", "CompressionStream", "polyfill"].includes(engine)) throw new Error(engine);
 * ```
 */
export type CompressionEngine = "node:zlib" | "CompressionStream" | "polyfill";

/**
 * The polyfill's engine (fflate) may run in a worker and keep sending output
 * after the reader gave up at the size limit; enqueueing into a cancelled
 * stream then throws in a callback nobody can catch. This base class hands the
 * polyfill a controller that drops such late output instead. Made on first
 * use: naming `TransformStream` at load time would make some runtimes (Bun)
 * set up their whole streams machinery at start-up (about 10 MB).
 */
let quietTransformStream: typeof TransformStream | undefined;
function quietStreamClass(): typeof TransformStream {
  return quietTransformStream ??= class QuietTransformStream<I, O> extends TransformStream<I, O> {
    constructor(t: Transformer<I, O> = {}, w?: QueuingStrategy<I>, r?: QueuingStrategy<O>) {
      const start = t.start;
      super({
        ...t,
        start: (c) =>
          start?.call(t, {
            get desiredSize() {
              return c.desiredSize;
            },
            enqueue: (chunk?: O) => {
              try {
                c.enqueue(chunk);
              } catch { /* cancelled: drop */ }
            },
            error: (e?: unknown) => {
              try {
                c.error(e);
              } catch { /* already closed */ }
            },
            terminate: () => {
              try {
                c.terminate();
              } catch { /* already closed */ }
            },
          }),
      }, w, r);
    }
  };
}

type StreamCtor = new (format: CompressionAlgorithm) => TransformStream<Uint8Array, Uint8Array>;
let streamCtors: { c: StreamCtor; d: StreamCtor; engine: CompressionEngine } | undefined;

type Streams = { c: StreamCtor; d: StreamCtor; engine: CompressionEngine };

async function streams(): Promise<Streams> {
  if (streamCtors) return streamCtors;
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (forcedEngine !== "polyfill") {
    try {
      new g.CompressionStream("deflate-raw");
      new g.DecompressionStream("deflate-raw");
      return streamCtors = { c: g.CompressionStream, d: g.DecompressionStream, engine: "CompressionStream" };
    } catch { /* none here: the polyfill */ }
  }
  // Loaded only when it is used: its engine sets up tables and workers when it loads.
  const { makeCompressionStream, makeDecompressionStream } = await import("compression-streams-polyfill/ponyfill");
  return streamCtors = {
    c: makeCompressionStream(quietStreamClass()) as unknown as StreamCtor,
    d: makeDecompressionStream(quietStreamClass()) as unknown as StreamCtor,
    engine: "polyfill",
  };
}

let forcedEngine: CompressionEngine | undefined;

/**
 * Forces an engine (for tests and benchmarks comparing them). `undefined`
 * restores the automatic choice. It applies to the whole process.
 *
 * @example
 * ```ts
 * import { compressionEngine, setCompressionEngine } from "@ampbus/ampbus";
 *
 * setCompressionEngine("polyfill");
 * if ((await compressionEngine()) !== "polyfill") throw new Error("engine not forced");
 * setCompressionEngine(undefined);
 * ```
 */
export function setCompressionEngine(engine: CompressionEngine | undefined): void {
  forcedEngine = engine;
  streamCtors = undefined;
}

async function zlibIfUsed(): Promise<NodeZlib | undefined> {
  if (forcedEngine !== undefined && forcedEngine !== "node:zlib") return undefined;
  return await loadNodeZlib();
}

/**
 * The engine compression uses on this runtime right now: `node:zlib` on
 * Node, Bun and Deno, else `CompressionStream`, else the polyfill.
 *
 * @example
 * ```ts
 * import { compressionEngine, runtime } from "@ampbus/ampbus";
 *
 * const engine = await compressionEngine();
 * if (runtime !== "browser" && runtime !== "worker" && engine !== "node:zlib") throw new Error(`${runtime} uses ${engine}`);
 * ```
 */
export async function compressionEngine(): Promise<CompressionEngine> {
  return (await zlibIfUsed()) ? "node:zlib" : (await streams()).engine;
}

function checkAlg(alg: string): asserts alg is CompressionAlgorithm {
  if (alg !== "deflate-raw" && alg !== "gzip") {
    throw new CompressionError("UNSUPPORTED_ALGORITHM", `unsupported compression algorithm ${JSON.stringify(alg)}: use "deflate-raw" or "gzip"`);
  }
}

async function readAll(readable: ReadableStream<Uint8Array>, bounds: { limit: number; what: string }): Promise<Uint8Array> {
  const { limit, what } = bounds;
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new CompressionError("DECOMPRESSION_LIMIT", `${what} inflates past ${limit} bytes; refused`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

// Input is fed in slices so that a decompressor stops soon after the output
// passes the limit (a 1 KiB slice of a bomb inflates to about 1 MiB at most),
// instead of inflating the whole input first.
function sliceSize(limit: number): number {
  return Math.min(65536, Math.max(256, Math.floor(limit / 1024)));
}

async function throughStream(o: { engine: Streams; compress: boolean; alg: CompressionAlgorithm; data: Uint8Array; limit: number; what: string }) {
  const { engine, alg, data, limit, what } = o;
  const ts = new (o.compress ? engine.c : engine.d)(alg);
  const writer = ts.writable.getWriter();
  // The polyfill may transfer (detach) the buffers it is given to a worker:
  // hand it copies, never a view of the caller's bytes.
  const copy = engine.engine === "polyfill";
  const step = sliceSize(limit);
  let stopped = false;
  const written = (async () => {
    for (let i = 0; i < data.length && !stopped; i += step) {
      const slice = data.subarray(i, i + step);
      await writer.write(copy ? slice.slice() : slice);
    }
    if (!stopped) await writer.close();
  })();
  written.catch(() => {}); // a failure surfaces through the readable side
  try {
    const out = await readAll(ts.readable, { limit, what });
    await written;
    return out;
  } finally {
    stopped = true;
  }
}

/**
 * Compresses raw bytes with `options.alg` (defaults to `"deflate-raw"`) at
 * `options.level` (defaults to 1). The output is standard DEFLATE, which
 * every runtime inflates.
 *
 * @example
 * ```ts
 * import { compressBytes, decompressBytes } from "@ampbus/ampbus";
 *
 * const bytes = new TextEncoder().encode("∀f ∈ CodeFiles: compiled(f) = ⊤ ".repeat(50));
 * const z = await compressBytes(bytes, { alg: "deflate-raw" });
 * if (z.length >= bytes.length / 10) throw new Error(`only shrank to ${z.length}`);
 * if ((await decompressBytes(z)).length !== bytes.length) throw new Error("round trip failed");
 * ```
 */
export async function compressBytes(data: Uint8Array, options: CompressOptions = {}): Promise<Uint8Array> {
  const alg = options.alg ?? "deflate-raw";
  checkAlg(alg);
  const z = await zlibIfUsed();
  const level = options.level ?? 1;
  if (z) {
    const out = alg === "gzip" ? z.gzipSync(data, { level }) : z.deflateRawSync(data, { level });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
  return await throughStream({ engine: await streams(), compress: true, alg, data, limit: Number.MAX_SAFE_INTEGER, what: "data" });
}

/**
 * Decompresses raw bytes (`options.alg` defaults to `"deflate-raw"`),
 * refusing to produce more than `maxSize` bytes (defaults to 16 MiB): a
 * decompression bomb fails with `DECOMPRESSION_LIMIT` before it can exhaust
 * memory, corrupt input with `CORRUPT_COMPRESSED`.
 *
 * @example
 * ```ts
 * import { compressBytes, decompressBytes } from "@ampbus/ampbus";
 *
 * const z = await compressBytes(new Uint8Array([1, 2, 3]), { alg: "gzip" });
 * const back = await decompressBytes(z, { alg: "gzip", maxSize: 3 });
 * if (back.join() !== "1,2,3") throw new Error(`got ${back}`);
 * ```
 */
export async function decompressBytes(
  data: Uint8Array,
  options: DecompressOptions & { alg?: CompressionAlgorithm } = {},
): Promise<Uint8Array> {
  const alg = options.alg ?? "deflate-raw";
  checkAlg(alg);
  const limit = options.maxSize ?? DEFAULT_MAX_DECOMPRESSED;
  const z = await zlibIfUsed();
  try {
    if (z) {
      const opts = { maxOutputLength: Math.max(1, limit) };
      const out = alg === "gzip" ? z.gunzipSync(data, opts) : z.inflateRawSync(data, opts);
      if (out.byteLength > limit) throw new RangeError("over limit");
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    }
    return await throughStream({ engine: await streams(), compress: false, alg, data, limit, what: "compressed data" });
  } catch (e) {
    if (e instanceof CompressionError) throw e;
    const code = (e as { code?: string }).code;
    if (e instanceof RangeError || code === "ERR_BUFFER_TOO_LARGE") {
      throw new CompressionError("DECOMPRESSION_LIMIT", `compressed data inflates past ${limit} bytes; refused`, { cause: e });
    }
    throw new CompressionError("CORRUPT_COMPRESSED", `compressed data is corrupt: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * What `compress()` packs: the message's spec and payload.
 *
 * @example
 * ```ts
 * import { compress, decompress, type SpecAndPayload } from "@ampbus/ampbus";
 *
 * const body: SpecAndPayload = { payload: { notes: "n".repeat(2000) } };
 * const back = await decompress(await compress(body));
 * if (JSON.stringify(back) !== JSON.stringify(body)) throw new Error("round trip failed");
 * ```
 */
export interface SpecAndPayload {
  /** The message's task spec, if it has one. */
  spec?: TaskSpec;
  /** The message's payload, if it has one. */
  payload?: unknown;
}

/** The `{spec?, payload?}` map that `compressed` holds, without absent fields. */
export function specAndPayload(msg: SpecAndPayload): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (msg.spec !== undefined) body.spec = msg.spec;
  if (msg.payload !== undefined) body.payload = msg.payload;
  return body;
}

/**
 * Compresses a message's `spec` and `payload` together (their canonical
 * MessagePack map, deflated), whatever their size; `compressMessage()`
 * decides whether it pays.
 *
 * @example
 * ```ts
 * import { compress } from "@ampbus/ampbus";
 *
 * const packed = await compress({ payload: "log line\n".repeat(300) });
 * if (packed.alg !== "deflate-raw" || packed.data.length >= packed.size) throw new Error("did not shrink");
 * ```
 */
export async function compress(msg: SpecAndPayload, options: CompressOptions = {}): Promise<CompressedPayload> {
  const raw = encodeValue(specAndPayload(msg));
  const alg = options.alg ?? "deflate-raw";
  return { alg, size: raw.length, data: await compressBytes(raw, options) };
}

/**
 * Restores `{spec, payload}` from a `CompressedPayload`. The declared `size`
 * is checked against `maxSize` (defaults to 16 MiB) before inflating and
 * against the real output after. Throws `CompressionError`.
 *
 * @example
 * ```ts
 * import { compress, decompress } from "@ampbus/ampbus";
 *
 * const packed = await compress({ payload: [1, 2, 3] });
 * const { payload } = await decompress(packed, { maxSize: 1024 });
 * if (JSON.stringify(payload) !== "[1,2,3]") throw new Error(JSON.stringify(payload));
 * ```
 */
export async function decompress(packed: CompressedPayload, options: DecompressOptions = {}): Promise<SpecAndPayload> {
  const limit = options.maxSize ?? DEFAULT_MAX_DECOMPRESSED;
  if (packed.size > limit) {
    throw new CompressionError("DECOMPRESSION_LIMIT", `compressed.size ${packed.size} is over the limit of ${limit} bytes; refused`);
  }
  return unpackInflated(await decompressBytes(packed.data, { alg: packed.alg, maxSize: packed.size }), packed);
}

/**
 * The checks `decompress()` makes once `packed.data` is inflated (to `raw`):
 * the size it promised, and a `{spec?, payload?}` map. For a caller that
 * inflates by itself (ampd does, synchronously). Throws `CompressionError`.
 *
 * @example
 * ```ts
 * import { compress, decompressBytes, unpackInflated } from "@ampbus/ampbus";
 *
 * const packed = await compress({ payload: "x".repeat(3000) });
 * const raw = await decompressBytes(packed.data, { alg: packed.alg, maxSize: packed.size });
 * if (unpackInflated(raw, packed).payload !== "x".repeat(3000)) throw new Error("round trip failed");
 * ```
 */
export function unpackInflated(raw: Uint8Array, packed: CompressedPayload): SpecAndPayload {
  if (raw.length !== packed.size) {
    throw new CompressionError("CORRUPT_COMPRESSED", `compressed data inflated to ${raw.length} bytes, but compressed.size says ${packed.size}`);
  }
  const body = decodeValue(raw);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new CompressionError("CORRUPT_COMPRESSED", "compressed data does not hold a {spec, payload} map");
  }
  for (const k of Object.keys(body)) {
    if (k !== "spec" && k !== "payload") {
      throw new CompressionError("CORRUPT_COMPRESSED", `compressed data holds an unexpected field ${JSON.stringify(k)}`);
    }
  }
  return body as SpecAndPayload;
}

/**
 * The one compress-or-not rule: true when a message whose `spec` and
 * `payload` encode to `rawLength` bytes (as one map) is clearly smaller with
 * them replaced by a `compressed` field holding `compressedLength` bytes. In
 * the plain message they take at least `rawLength - 1` bytes (the map less
 * its header); the `compressed` field takes at most `compressedLength + 51`
 * (its keys, `alg`, `size` and headers). So a compressed message is never
 * bigger than the plain one.
 *
 * @example
 * ```ts
 * import { compressionPays } from "./compress.ts";
 *
 * if (!compressionPays(4000, 900)) throw new Error("a 4x saving pays");
 * if (compressionPays(100, 60)) throw new Error("the field's own keys would eat the saving");
 * ```
 */
export function compressionPays(rawLength: number, compressedLength: number): boolean {
  return compressedLength + 52 < rawLength - 1;
}
