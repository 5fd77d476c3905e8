/**
 * The transport interface: a byte pipe to the sidecar. Implementations live
 * beside it, one per runtime (`node.ts` for Node and Bun, `deno.ts`,
 * `websocket.ts`); `default.ts` loads the one for the current runtime.
 *
 * @module
 */

/**
 * A connected byte pipe. Iterating yields chunks as they arrive (not
 * frames); iteration ends when the connection closes.
 */
export interface Transport extends AsyncIterable<Uint8Array> {
  /** Sends bytes; resolves when the transport can take more (back-pressure). */
  send(bytes: Uint8Array): Promise<void>;
  /** Closes the connection. */
  close(): Promise<void>;
  /** Resolves when the connection has closed, with the error that closed it if any. */
  closed(): Promise<Error | undefined>;
}

/** Where to connect. */
export interface TransportOptions {
  /** Path of the sidecar's Unix socket. */
  socket: string;
}

/** Opens a transport. Pass one to `connect()` to use a transport of your own. */
export type TransportFactory = (options: TransportOptions) => Promise<Transport>;
