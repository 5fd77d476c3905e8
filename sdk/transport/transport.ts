/**
 * The transport interface: a byte pipe to the sidecar. Implementations live
 * beside it, one per runtime (`node.ts` for Node and Bun, `deno.ts`,
 * `websocket.ts`); `default.ts` loads the one for the current runtime.
 *
 * @module
 */

/**
 * A connected byte pipe. Iterating yields chunks as they arrive (not
 * frames: a `FrameDecoder` splits them); iteration ends when the connection
 * closes.
 *
 * @example
 * ```ts
 * import type { Transport } from "@ampbus/ampbus";
 *
 * // A transport that echoes what it is sent, as a test double for connect().
 * function echo(): Transport {
 *   const sent: Uint8Array[] = [];
 *   return {
 *     async *[Symbol.asyncIterator]() { yield* sent; },
 *     send: async (bytes) => { sent.push(bytes); },
 *     close: async () => {},
 *     closed: () => new Promise(() => {}),
 *   };
 * }
 * const t = echo();
 * await t.send(new Uint8Array([1]));
 * for await (const chunk of t) if (chunk[0] !== 1) throw new Error("wrong chunk");
 * ```
 */
export interface Transport extends AsyncIterable<Uint8Array> {
  /** Sends bytes; resolves when the transport can take more (back-pressure). */
  send(bytes: Uint8Array): Promise<void>;
  /** Closes the connection. */
  close(): Promise<void>;
  /** Resolves when the connection has closed, with the error that closed it if any. */
  closed(): Promise<Error | undefined>;
}

/**
 * Where to connect: what `connect()` hands its `TransportFactory`.
 *
 * @example
 * ```ts
 * import type { TransportOptions } from "@ampbus/ampbus";
 *
 * const options: TransportOptions = { socket: "./ampd.sock" };
 * ```
 */
export interface TransportOptions {
  /** Path of the sidecar's Unix socket. */
  socket: string;
}

/**
 * Opens a transport. Pass one to `connect()` to use a transport of your own;
 * by default `connect()` uses the Unix socket transport of the runtime.
 *
 * @example
 * ```ts
 * import { type TransportFactory, webSocketTransport } from "@ampbus/ampbus";
 *
 * let opened = 0;
 * const ws = webSocketTransport("ws://127.0.0.1:8080");
 * const counted: TransportFactory = (options) => {
 *   opened++;
 *   return ws(options);
 * };
 * // const bus = await connect({ transport: counted, name: "coder" }); // needs a running ampd
 * ```
 */
export type TransportFactory = (options: TransportOptions) => Promise<Transport>;
