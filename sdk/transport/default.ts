/**
 * The Unix-socket transport of the current runtime (Node and Bun:
 * `node:net`; Deno: `Deno.connect`), loaded on demand so that importing the
 * SDK pulls in no runtime module.
 *
 * @module
 */
import { runtime } from "../runtime.ts";
import type { TransportFactory } from "./transport.ts";

/**
 * The Unix-socket transport factory for the current runtime, loaded on first
 * use. Browsers and edge workers have no Unix sockets: this throws there.
 */
export async function defaultTransport(): Promise<TransportFactory> {
  if (runtime === "deno") return (await import("./deno.ts")).connectDeno;
  if (runtime === "node" || runtime === "bun") return (await import("./node.ts")).connectNode;
  throw new TypeError(`no Unix-socket transport on this runtime (${runtime}); pass a transport to connect()`);
}
