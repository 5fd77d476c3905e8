/**
 * WebSocket transport: the sidecar protocol over ampd's `/ws/bus` endpoint
 * (`ampd --http`), for browsers, edge workers and any runtime with the
 * standard `WebSocket` global. The bytes are the same as on the Unix socket:
 * binary messages carry the length-prefixed frames.
 *
 * @module
 */
import { ChunkQueue } from "../async_queue.ts";
import type { Transport, TransportFactory } from "./transport.ts";

/** Bytes buffered in the WebSocket above which `send()` waits: 1 MiB. */
export const WS_HIGH_WATER = 1024 * 1024;
/** Largest piece sent as one WebSocket message: 256 KiB (ampd joins pieces into frames). */
const MAX_PIECE = 256 * 1024;
/** First and longest wait while the WebSocket's buffer is above `WS_HIGH_WATER`, in ms. */
const DRAIN_FIRST_WAIT = 5;
const DRAIN_MAX_WAIT = 50;

class WebSocketTransport implements Transport {
  #ws: WebSocket;
  #queue = new ChunkQueue();
  #closed: Promise<Error | undefined>;

  constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener("message", (e: MessageEvent) => {
      if (e.data instanceof ArrayBuffer) this.#queue.push(new Uint8Array(e.data));
    });
    this.#closed = new Promise((resolve) => {
      ws.addEventListener("close", (e: CloseEvent) => {
        this.#queue.end();
        resolve(e.code === 1000 || e.code === 1005 ? undefined : new Error(`WebSocket closed with code ${e.code}${e.reason ? `: ${e.reason}` : ""}`));
      });
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#queue;
  }

  async send(bytes: Uint8Array): Promise<void> {
    const ws = this.#ws;
    for (let at = 0; at < bytes.length; at += MAX_PIECE) {
      if (ws.readyState !== WebSocket.OPEN) throw new Error("connection is closed");
      ws.send(bytes.subarray(at, Math.min(at + MAX_PIECE, bytes.length)));
      if (ws.bufferedAmount > WS_HIGH_WATER) await this.#drained();
    }
  }

  /**
   * Resolves once the buffer is back under `WS_HIGH_WATER` or the socket has
   * closed. The WebSocket API has no drain event (no `bufferedamountlow`, as
   * RTCDataChannel has; `WebSocketStream` is not in every browser), so this
   * waits on a timer: only while a send is held back, backing off from 5 ms
   * to at most 50 ms, so a slow link costs at most 20 wake-ups a second and a
   * fast one drains within the first wait.
   */
  async #drained(): Promise<void> {
    const ws = this.#ws;
    let wait = DRAIN_FIRST_WAIT;
    while (ws.bufferedAmount > WS_HIGH_WATER && ws.readyState === WebSocket.OPEN) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([new Promise((r) => (timer = setTimeout(r, wait))), this.#closed]);
      clearTimeout(timer);
      wait = Math.min(wait * 2, DRAIN_MAX_WAIT);
    }
  }

  async close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CONNECTING || this.#ws.readyState === WebSocket.OPEN) this.#ws.close(1000);
    await this.#closed;
  }

  closed(): Promise<Error | undefined> {
    return this.#closed;
  }
}

/**
 * A transport factory that connects to ampd's `/ws/bus` at `url` (`ws://` or
 * `wss://`; a URL without a path gets `/ws/bus`). `connect({ url })` uses it.
 *
 * @example
 * ```ts
 * import { webSocketTransport } from "@ampbus/ampbus";
 *
 * const transport = webSocketTransport("ws://127.0.0.1:8080"); // nothing is opened yet
 * if (typeof transport !== "function") throw new Error("a factory is a function");
 * // const bus = await connect({ transport, name: "browser" }); // needs `ampd --http`
 * ```
 */
export function webSocketTransport(url: string): TransportFactory {
  return () => connectWebSocket(url);
}

/**
 * Opens a WebSocket to ampd and resolves once it is open; rejects if it
 * closes first. A URL without a path gets `/ws/bus`. Throws `TypeError` for
 * a URL that is not `ws://` or `wss://`, or a runtime without `WebSocket`.
 *
 * @example
 * ```ts
 * import { connectWebSocket } from "@ampbus/ampbus";
 *
 * try {
 *   await connectWebSocket("http://127.0.0.1:8080");
 *   throw new Error("an http:// URL must be refused");
 * } catch (e) {
 *   if (!(e instanceof TypeError)) throw e;
 * }
 * ```
 */
export function connectWebSocket(url: string): Promise<Transport> {
  const u = new URL(url);
  if (u.protocol !== "ws:" && u.protocol !== "wss:") throw new TypeError(`a WebSocket URL starts with ws:// or wss:// (was ${JSON.stringify(url)})`);
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/ws/bus";
  if (typeof WebSocket !== "function") throw new TypeError("this runtime has no WebSocket global; pass a transport to connect()");
  const ws = new WebSocket(u.href);
  ws.binaryType = "arraybuffer";
  return new Promise((resolve, reject) => {
    const onOpen = () => {
      ws.removeEventListener("close", onClose);
      resolve(new WebSocketTransport(ws));
    };
    const onClose = (e: CloseEvent) => {
      ws.removeEventListener("open", onOpen);
      reject(new Error(`cannot open a WebSocket to ${u.href} (code ${e.code})`));
    };
    ws.addEventListener("open", onOpen, { once: true });
    ws.addEventListener("close", onClose, { once: true });
  });
}
