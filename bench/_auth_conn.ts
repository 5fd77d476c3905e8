/**
 * The sidecar protocol spoken raw on a connection that authenticates: `hello`
 * naming an agent, then `auth` with the proof of its key over the nonce
 * (docs/protocol.md, hello and auth), for benchmarks of an ampd with a
 * keyring. After that it publishes pre-built frames counting the replies (as
 * `FrameConn` of `_frames.ts` does), or pings at a fixed rate and times each
 * round trip. Without an agent it opens an ampd that has no keyring.
 *
 * @module
 */
import { connect as netConnect, type Socket } from "node:net";
import { decodeValue, encodeValue } from "../sdk/codec/codec.ts";
import type { SigningKey } from "../sdk/codec/sign.ts";
import { CLIENT_PROTOCOL_VERSION } from "../sdk/client/socket_port.ts";
import { frame } from "../sdk/transport/frame.ts";
import { proveAuth } from "../sdk/trust/auth.ts";
import { FrameCounter, type Frames } from "./_frames.ts";

/** One connection: requests by rid while it opens and pings; replies only counted while it publishes. */
export class AuthConn {
  #sock: Socket;
  /** Reply frames not yet whole, in decode mode. */
  #buf: Buffer = Buffer.alloc(0);
  /** Count mode: replies counted by their length prefixes. */
  #counter = new FrameCounter();
  #counting = false;
  #onFrames: (n: number) => void = () => {};
  #waiting = new Map<number, (f: Record<string, unknown>) => void>();
  #rid = 1;

  private constructor(sock: Socket) {
    this.#sock = sock;
    sock.on("data", (chunk: Buffer) => (this.#counting ? this.#count(chunk) : this.#decode(chunk)));
  }

  /**
   * Connects and says hello (as `agent`, when given); with a nonce in the
   * reply, proves `key` with `auth`. Throws when ampd refuses either.
   */
  static async open(path: string, o: { name: string; agent?: string; key?: SigningKey }): Promise<AuthConn> {
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect(path);
      s.once("error", reject);
      s.once("connect", () => {
        s.off("error", reject);
        resolve(s);
      });
    });
    const c = new AuthConn(sock);
    const hello = await c.request({ op: "hello", version: CLIENT_PROTOCOL_VERSION, client: o.name, ...(o.agent === undefined ? {} : { agent: o.agent }) });
    if (hello.ok !== true) throw new Error(`hello refused: ${JSON.stringify(hello.error)}`);
    if (hello.nonce instanceof Uint8Array) {
      if (o.agent === undefined || o.key === undefined) throw new Error("this ampd has a keyring: give an agent and its key");
      const proof = await proveAuth(o.key, { agent: o.agent, nonce: hello.nonce });
      const auth = await c.request({ op: "auth", kid: o.key.kid, proof });
      if (auth.ok !== true) throw new Error(`auth refused: ${JSON.stringify(auth.error)}`);
    }
    return c;
  }

  /** Sends one request (its rid is set here) and resolves with the decoded reply. */
  request(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    const rid = this.#rid++;
    return new Promise((resolve) => {
      this.#waiting.set(rid, resolve);
      this.#sock.write(frame(encodeValue({ ...req, rid })));
    });
  }

  #decode(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let pos = 0;
    while (this.#buf.length - pos >= 4) {
      const len = this.#buf.readUInt32BE(pos);
      if (this.#buf.length - pos - 4 < len) break;
      const f = decodeValue(this.#buf.subarray(pos + 4, pos + 4 + len)) as Record<string, unknown>;
      pos += 4 + len;
      const w = this.#waiting.get(f.rid as number);
      if (w !== undefined) {
        this.#waiting.delete(f.rid as number);
        w(f);
      }
    }
    this.#buf = this.#buf.subarray(pos);
  }

  #count(chunk: Buffer): void {
    const done = this.#counter.push(chunk);
    if (done > 0) this.#onFrames(done);
  }

  /**
   * Sends `f` with at most `inflight` requests unanswered and resolves with
   * the number of replies once all are in (replies are counted, not read:
   * check ampd's `info` counters for errors afterwards).
   */
  publish(f: Frames, inflight: number): Promise<number> {
    if (this.#waiting.size > 0) throw new Error("publish() while requests wait for replies");
    this.#counting = true;
    return new Promise((resolve) => {
      let sent = 0;
      let done = 0;
      const pump = () => {
        const upto = Math.min(f.count, done + inflight);
        if (upto > sent) {
          this.#sock.write(f.buf.subarray(f.off[sent], f.off[upto]));
          sent = upto;
        }
      };
      this.#onFrames = (k) => {
        done += k;
        if (done >= f.count) {
          this.#counting = false;
          this.#onFrames = () => {};
          resolve(done);
        } else pump();
      };
      pump();
    });
  }

  /**
   * Pings at `rate` per second (on each 1 ms timer tick, every ping due by
   * then) until `stop` resolves or `seconds` have passed, then waits for the
   * replies; resolves with each ping's round trip in ms.
   */
  async probe({ rate, seconds, stop }: { rate: number; seconds: number; stop?: Promise<unknown> }): Promise<number[]> {
    const rtts: number[] = [];
    const replies: Promise<unknown>[] = [];
    let stopped = false;
    void stop?.then(() => (stopped = true));
    const t0 = performance.now();
    let sent = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        if (stopped || now - t0 >= seconds * 1000) return resolve();
        const due = Math.floor(((now - t0) / 1000) * rate);
        for (; sent < due; sent++) {
          const at = performance.now();
          replies.push(this.request({ op: "ping" }).then(() => void rtts.push(performance.now() - at)));
        }
        setTimeout(tick, 1);
      };
      tick();
    });
    await Promise.all(replies);
    return rtts;
  }

  close(): void {
    this.#sock.destroy();
  }
}
