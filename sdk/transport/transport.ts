/**
 * The transport interface: a byte pipe to the sidecar. One implementation
 * per runtime (Node and Bun: `node:net`; Deno: `Deno.connect`), loaded on
 * demand so that importing the SDK pulls in no runtime module.
 *
 * @module
 */
import { runtime } from "../runtime.ts";

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

/**
 * The Unix-socket transport factory for the current runtime, loaded on first
 * use. Browsers and edge workers have no Unix sockets: this throws there.
 */
export async function defaultTransport(): Promise<TransportFactory> {
  if (runtime === "deno") return (await import("./deno.ts")).connectDeno;
  if (runtime === "node" || runtime === "bun") return (await import("./node.ts")).connectNode;
  throw new TypeError(`no Unix-socket transport on this runtime (${runtime}); pass a transport to connect()`);
}

/**
 * A queue of received chunks that an async iterator drains. `onTake`, if
 * given, is called with the chunks left each time the reader takes a queued
 * one: a transport that paused its source resumes it from there, on the event
 * rather than on a timer.
 */
export class ChunkQueue implements AsyncIterator<Uint8Array> {
  #chunks: Uint8Array[] = [];
  #waiter: ((r: IteratorResult<Uint8Array>) => void) | undefined;
  #ended = false;
  #onTake: ((left: number) => void) | undefined;

  constructor(onTake?: (left: number) => void) {
    this.#onTake = onTake;
  }

  push(chunk: Uint8Array): void {
    if (this.#ended) return;
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w({ value: chunk, done: false });
    } else this.#chunks.push(chunk);
  }

  end(): void {
    this.#ended = true;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.({ value: undefined, done: true });
  }

  /** Chunks waiting to be read. */
  get length(): number {
    return this.#chunks.length;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#chunks.length > 0) {
      const chunk = this.#chunks.shift()!;
      this.#onTake?.(this.#chunks.length);
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.#waiter = resolve));
  }
}
