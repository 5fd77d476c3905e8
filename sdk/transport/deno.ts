/**
 * Unix-socket transport over `Deno.connect`, for Deno.
 *
 * @module
 */
import { ChunkQueue } from "../async_queue.ts";
import type { Transport, TransportOptions } from "./transport.ts";

interface DenoConn {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  close(): void;
}

class DenoTransport implements Transport {
  #conn: DenoConn;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #queue = new ChunkQueue();
  #closed: Promise<Error | undefined>;
  #closing = false;

  constructor(conn: DenoConn) {
    this.#conn = conn;
    this.#writer = conn.writable.getWriter();
    this.#closed = this.#pump();
  }

  async #pump(): Promise<Error | undefined> {
    let error: Error | undefined;
    try {
      const reader = this.#conn.readable.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this.#queue.push(value);
      }
    } catch (e) {
      if (!this.#closing) error = e as Error;
    }
    this.#queue.end();
    return error;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#queue;
  }

  async send(bytes: Uint8Array): Promise<void> {
    await this.#writer.ready;
    await this.#writer.write(bytes);
  }

  async close(): Promise<void> {
    if (this.#closing) return void (await this.#closed);
    this.#closing = true;
    try {
      await this.#writer.close();
    } catch {
      // already closed by the peer
    }
    await this.#closed;
  }

  closed(): Promise<Error | undefined> {
    return this.#closed;
  }
}

/** Connects to a Unix socket with `Deno.connect`. */
export async function connectDeno(options: TransportOptions): Promise<Transport> {
  // deno-lint-ignore no-explicit-any
  const D = (globalThis as any).Deno;
  const conn = (await D.connect({ transport: "unix", path: options.socket })) as DenoConn;
  return new DenoTransport(conn);
}
