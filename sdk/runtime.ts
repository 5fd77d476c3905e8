/**
 * Runtime detection, done once, and lazy access to Node built-ins that Bun
 * and Deno also provide. Nothing here imports a runtime module at top level,
 * so a browser or an edge worker can load the SDK.
 *
 * @module
 */

/**
 * The runtime the SDK is running on. `worker` is any other JavaScript host
 * without a DOM: an edge worker, a web worker.
 *
 * @example
 * ```ts
 * import { runtime, type RuntimeName } from "@ampbus/ampbus";
 *
 * // Where a Unix socket can be opened; elsewhere connect({ url }) goes over a WebSocket.
 * const withSockets: RuntimeName[] = ["bun", "deno", "node"];
 * if (typeof Deno !== "undefined" && !withSockets.includes(runtime)) throw new Error(`detected ${runtime}`);
 * ```
 */
export type RuntimeName = "bun" | "deno" | "node" | "browser" | "worker";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;

/**
 * The runtime the SDK is running on, detected once at load (Bun and Deno
 * are told apart before Node, as both also define `process`).
 *
 * @example
 * ```ts
 * import { runtime } from "@ampbus/ampbus";
 *
 * if (typeof Deno !== "undefined" && runtime !== "deno") throw new Error(`detected ${runtime}`);
 * ```
 */
export const runtime: RuntimeName = typeof g.Bun !== "undefined"
  ? "bun"
  : typeof g.Deno !== "undefined"
  ? "deno"
  : typeof g.process?.versions?.node === "string"
  ? "node"
  : typeof g.document !== "undefined"
  ? "browser"
  : "worker";

/** Subset of `node:zlib` the SDK uses. */
export interface NodeZlib {
  deflateRawSync(data: Uint8Array, options?: { level?: number }): Uint8Array;
  inflateRawSync(data: Uint8Array, options?: { maxOutputLength?: number }): Uint8Array;
  gzipSync(data: Uint8Array, options?: { level?: number }): Uint8Array;
  gunzipSync(data: Uint8Array, options?: { maxOutputLength?: number }): Uint8Array;
}

let zlib: NodeZlib | null | undefined;

/**
 * `node:zlib` where the runtime has it (Node, Bun, Deno), else undefined.
 * Loaded on first use, through `process.getBuiltinModule` where it exists
 * and a dynamic import otherwise.
 */
export async function loadNodeZlib(): Promise<NodeZlib | undefined> {
  if (zlib !== undefined) return zlib ?? undefined;
  if (runtime === "browser" || runtime === "worker") {
    zlib = null;
    return undefined;
  }
  try {
    zlib = g.process?.getBuiltinModule?.("node:zlib") as NodeZlib | undefined;
    if (!zlib) {
      const name = "node:zlib"; // a variable keeps bundlers from resolving it for browsers
      zlib = (await import(/* @vite-ignore */ name)) as NodeZlib;
    }
  } catch {
    zlib = null;
  }
  return zlib ?? undefined;
}

/** `node:zlib` if already loaded (synchronous paths use it when they can). */
export function loadedNodeZlib(): NodeZlib | undefined {
  return zlib ?? undefined;
}
