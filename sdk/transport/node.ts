/**
 * Unix-socket transport over `node:net`, for Node and Bun.
 *
 * @module
 */
import type { Socket } from "node:net";
import { ChunkQueue } from "../async_queue.ts";
import type { Transport, TransportOptions } from "./transport.ts";

class NodeTransport implements Transport {
  #socket: Socket;
  #queue = new ChunkQueue((left) => this.#resumeWhenDrained(left));
  #paused = false;
  #closed: Promise<Error | undefined>;
  #error: Error | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.#queue.push(chunk);
      // Stop reading while the consumer lags far behind (back-pressure to the sidecar).
      if (this.#queue.length > 256 && !this.#paused) {
        this.#paused = true;
        socket.pause();
      }
    });
    socket.on("error", (e) => (this.#error = e));
    this.#closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.#queue.end();
        resolve(this.#error);
      })
    );
  }

  /** Called as the consumer takes chunks: reading resumes once the backlog is down to 16. */
  #resumeWhenDrained(left: number): void {
    if (!this.#paused || left > 16) return;
    this.#paused = false;
    this.#socket.resume();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#queue;
  }

  send(bytes: Uint8Array): Promise<void> {
    if (this.#socket.destroyed) return Promise.reject(new Error("connection is closed"));
    if (this.#socket.write(bytes)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#socket.off("drain", done);
        this.#socket.off("close", done);
        resolve();
      };
      this.#socket.on("drain", done);
      this.#socket.on("close", done);
    });
  }

  async close(): Promise<void> {
    this.#socket.end();
    const t = setTimeout(() => this.#socket.destroy(), 1000);
    await this.#closed;
    clearTimeout(t);
  }

  closed(): Promise<Error | undefined> {
    return this.#closed;
  }
}

/** Connects to a Unix socket with `node:net`. */
export async function connectNode(options: TransportOptions): Promise<Transport> {
  const net = await import("node:net");
  const socket = net.createConnection({ path: options.socket });
  socket.setNoDelay?.(true);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve();
    });
    socket.once("error", reject);
  });
  return new NodeTransport(socket);
}
