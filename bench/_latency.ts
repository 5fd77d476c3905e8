/**
 * Publish-to-delivery latency at a fixed rate: one publisher connection,
 * one subscriber connection, the send time kept per sequence number. The
 * publisher sends, on every 1 ms timer tick, all messages due by then.
 * `pace()` and `latencyStats()` are shared by every system's run (ampd and
 * raw Redis here, NATS in `_nats.ts`).
 *
 * @module
 */
import { dropStreams } from "./_cleanup.ts";
import type { Ampd } from "../tests/_helpers/ampd.ts";
import { entryFields } from "../sidecar/backend/_redis_reply.ts";
import { prepare } from "./_messages.ts";
import { bufs, log, rawClient, sdkClient, timeWithCpu, withTimeout, type XEntries } from "./_proc.ts";
import { quantile } from "./_stats.ts";

/** How a latency run goes: `rate` msg/s for `warm` + `seconds` s, the first `warm` s dropped. */
export interface Pacing {
  rate: number;
  seconds: number;
  warm: number;
  timeoutMs: number;
}

/** One latency run's figures (ms). */
export interface Latency {
  name: string;
  n: number;
  rate: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** The publisher's own round trip (add reply, PubAck), NaN where there is none. */
  ackP50: number;
  ackP99: number;
  cpu: Record<string, number>;
}

/** Messages of a run (`total`) and how many at its start are dropped (`skip`). */
export function counts(p: Pacing): { total: number; skip: number } {
  return { total: Math.round(p.rate * (p.seconds + p.warm)), skip: Math.round(p.rate * p.warm) };
}

/**
 * Calls `send(0..total-1)` at `rate` per second: on each timer tick, every
 * message due by now (so ~rate/1000 per 1 ms tick). Resolves with the seconds taken.
 */
export function pace({ total, rate }: { total: number; rate: number }, send: (seq: number) => void): Promise<number> {
  const t0 = performance.now();
  let i = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      while (i < due) send(i++);
      if (i < total) setTimeout(tick, 1);
      else resolve((performance.now() - t0) / 1000);
    };
    tick();
  });
}

/** Per-message send, delivery and ack times of one run. */
export class Samples {
  readonly sendAt: Float64Array;
  readonly lat: Float64Array;
  readonly ack: Float64Array;

  constructor(total: number) {
    this.sendAt = new Float64Array(total);
    this.lat = new Float64Array(total).fill(NaN);
    this.ack = new Float64Array(total).fill(NaN);
  }

  /** Message `seq` is being sent now. */
  sent(seq: number): void {
    this.sendAt[seq] = performance.now();
  }

  /** Message `seq` was delivered at `now`. */
  delivered(seq: number, now = performance.now()): void {
    this.lat[seq] = now - this.sendAt[seq];
  }

  /** The publisher's ack of message `seq` is in. */
  acked(seq: number): void {
    this.ack[seq] = performance.now() - this.sendAt[seq];
  }

  /** One row, the first `skip` messages dropped; throws when a message was never delivered. */
  stats({ name, skip, rate, cpu }: { name: string; skip: number; rate: number; cpu: Record<string, number> }): Latency {
    const lost = this.lat.reduce((k, x) => (Number.isNaN(x) ? k + 1 : k), 0);
    if (lost > 0) throw new Error(`${name}: ${lost} of ${this.lat.length} messages never delivered`);
    const xs = Array.from(this.lat.subarray(skip)).sort((a, b) => a - b);
    const as = Array.from(this.ack.subarray(skip)).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    return {
      name,
      n: xs.length,
      rate,
      p50: quantile(xs, 0.5),
      p90: quantile(xs, 0.9),
      p99: quantile(xs, 0.99),
      max: xs[xs.length - 1],
      ackP50: as.length ? quantile(as, 0.5) : NaN,
      ackP99: as.length ? quantile(as, 0.99) : NaN,
      cpu,
    };
  }
}

/** Through ampd: `port.add` on one SDK connection, `streamIter` from `"$"` on another. */
export async function ampdLatency(
  { name, ampd, pids, stream }: { name: string; ampd: Ampd; pids: Record<string, number>; stream: string },
  p: Pacing,
): Promise<Latency> {
  const { total, skip } = counts(p);
  log(`${name} latency: ${p.rate} msg/s for ${p.seconds + p.warm} s (first ${p.warm} s dropped)`);
  const msgs = prepare(total, (i) => ({ payload: { seq: i } }));
  const pub = await sdkClient(ampd.socket, "bench-pub");
  const sub = await sdkClient(ampd.socket, "bench-sub");
  const it = sub.streamIter(stream, { from: "$", window: 1000 });
  await it.ready;
  const s = new Samples(total);
  let got = 0;
  const received = (async () => {
    for await (const d of it) {
      s.delivered((d.message.payload as { seq: number }).seq);
      if (++got === total) break;
    }
  })();
  let failed: Error | undefined;
  const { value: sendSeconds, cpu } = await timeWithCpu(pids, async () => {
    const sent = await pace({ total, rate: p.rate }, (seq) => {
      s.sent(seq);
      pub.port.add(stream, msgs.bytes[seq]).then(() => s.acked(seq), (e) => void (failed ??= e));
    });
    await withTimeout(received, { what: `${name} latency delivery`, ms: p.timeoutMs }).catch((e: Error) => {
      throw new Error(`${e.message} (${got} of ${total} delivered)`);
    });
    return sent;
  });
  if (failed) throw failed;
  await dropStreams(pub, [stream]);
  await pub.close();
  await sub.close();
  return s.stats({ name, skip, rate: total / sendSeconds, cpu });
}

/** The same without ampd: node-redis XADD on one connection, XREAD BLOCK on another. */
export async function rawRedisLatency(
  { name, url, pids, key }: { name: string; url: string; pids: Record<string, number>; key: string },
  p: Pacing,
): Promise<Latency> {
  const { total, skip } = counts(p);
  log(`${name} latency: ${p.rate} msg/s for ${p.seconds + p.warm} s`);
  const msgs = prepare(total, (i) => ({ payload: { seq: i } }));
  const pub = await rawClient(url);
  const sub = await rawClient(url);
  const s = new Samples(total);
  let got = 0;
  // One publisher, so entries arrive in send order: the k-th entry is message k.
  const received = (async () => {
    let after = "0-0"; // the key is new: nothing before the first add
    while (got < total) {
      const reply = await sub.sendCommand<[Buffer, XEntries][] | null>(["XREAD", "COUNT", "1000", "BLOCK", "5000", "STREAMS", key, after], bufs);
      const entries = reply?.[0]?.[1] ?? [];
      const now = performance.now();
      for (let k = 0; k < entries.length; k++) s.delivered(got++, now);
      if (entries.length > 0) after = entries[entries.length - 1][0].toString("latin1");
    }
  })();
  let failed: Error | undefined;
  const { value: sendSeconds, cpu } = await timeWithCpu(pids, async () => {
    const sent = await pace({ total, rate: p.rate }, (seq) => {
      s.sent(seq);
      pub.sendCommand(["XADD", key, "*", ...entryFields(msgs.headers[seq], msgs.bytes[seq])]).then(() => s.acked(seq), (e) => void (failed ??= e));
    });
    await withTimeout(received, { what: `${name} latency delivery`, ms: p.timeoutMs }).catch((e: Error) => {
      throw new Error(`${e.message} (${got} of ${total} delivered)`);
    });
    return sent;
  });
  if (failed) throw failed;
  await pub.sendCommand(["DEL", key]);
  await pub.disconnect();
  await sub.disconnect();
  return s.stats({ name, skip, rate: total / sendSeconds, cpu });
}
