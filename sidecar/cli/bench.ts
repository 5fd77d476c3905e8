/**
 * `ampd bench`: publish/consume load against a running ampd, with a progress
 * display and a summary of throughput and latency percentiles.
 *
 * @module
 */
import { createMessage } from "../../sdk/envelope/builder.ts";
import type { AmpClient } from "../../sdk/client/client.ts";
import { uuidv7 } from "../../sdk/envelope/id.ts";
import { parseCount, parseDuration, parseSize } from "./args.ts";
import { type Bus, CONNECT_FLAGS, type CommandHelp, EXIT, EXIT_HELP, noMorePositional, openBus, parseCommand, runCommand, writeLine } from "./_command.ts";

/** `ampd bench --help`. */
export const BENCH_HELP: CommandHelp = {
  name: "bench",
  summary: "publish/consume load against a running ampd",
  usage: ["bench [flags]"],
  description: `Publishers add --messages messages to one stream over their own connections,
each with --inflight adds in flight; one subscriber follows the stream. Prints
progress on a terminal, then throughput and latency percentiles: publish
latency is an add's round trip, end-to-end latency is from just before the
add to its arrival at the subscriber.

Afterwards the bench's stream is deleted with its dedupe keys (the op
stream.delete), or, when --stream named one, purged (its entries and dedupe
keys go, its groups stay); --keep leaves it as it is.`,
  flags: {
    messages: { value: "N", help: "Messages to publish. Default: 10000" },
    size: { value: "SIZE", help: "Payload bytes per message. Default: 256" },
    publishers: { value: "N", help: "Publishing connections. Default: 4" },
    inflight: { value: "N", help: "Adds in flight per publisher. Default: 16" },
    stream: { value: "NAME", help: "Stream to use. Default: bench.<uuid> (deleted afterwards)" },
    "no-consume": { boolean: true, help: "Publish only" },
    keep: { boolean: true, help: "Leave the stream and its dedupe keys afterwards" },
    timeout: { value: "DUR", help: "Give up waiting for deliveries after this long. Default: 60s" },
  },
  shared: CONNECT_FLAGS,
  sections: [{
    title: "--json output (stable), one line",
    text: `  {"stream", "messages", "size", "publishers", "inflight", "elapsedMs",
   "publish": {"perSec", "mbPerSec", "latencyMs": {"p50", "p90", "p99", "max"}},
   "consume": {"received", "perSec", "latencyMs": {"p50", "p90", "p99", "max"}} | null}`,
  }],
  examples: [
    "bench",
    "bench --messages 100000 --size 1KiB --publishers 8",
    "bench --json --messages 1000",
    "bench --key ops.key --stream bench.ops # with --keyring: an admin agent (the clean-up is admin), or --keep",
  ],
  exit: `${EXIT_HELP}\nNot every message delivered within --timeout is exit 3.`,
};

const FLAGS = BENCH_HELP.flags;

/** Latency percentiles in ms, from unsorted samples. */
export function percentiles(samples: number[]): { p50: number; p90: number; p99: number; max: number } {
  const s = Float64Array.from(samples).sort();
  const at = (q: number) => (s.length === 0 ? 0 : round(s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]));
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s.length === 0 ? 0 : round(s[s.length - 1]) };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

async function bench(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, FLAGS);
  noMorePositional(args, 0);
  const get = (k: string) => args.flags.get(k) as string | undefined;
  const total = parseCount("messages", { text: get("messages") ?? "10000", min: 1, max: 10_000_000 });
  const size = parseSize("size", { text: get("size") ?? "256", min: 0, max: 1 << 20 });
  const nPub = parseCount("publishers", { text: get("publishers") ?? "4", min: 1, max: 256 });
  const inflight = parseCount("inflight", { text: get("inflight") ?? "16", min: 1, max: 4096 });
  const timeoutMs = parseDuration("timeout", { text: get("timeout") ?? "60s", min: 1, max: 3_600_000 });
  const named = get("stream");
  const stream = named ?? `bench.${uuidv7()}`;
  const consume = !args.flags.has("no-consume");
  const json = args.flags.has("json");
  const progress = !json && process.stderr.isTTY;

  const main = await openBus(args, "ampd-bench");
  const pubs: Bus[] = [main];
  try {
    for (let i = 1; i < nPub; i++) pubs.push(await openBus(args, `ampd-bench-${i}`));
    const pad = "x".repeat(size);
    const sentAt = new Float64Array(total);
    const pubLatency: number[] = [];
    const e2e: number[] = [];
    let received = 0;
    let allReceived!: () => void;
    const done = new Promise<void>((r) => (allReceived = r));
    const sub = consume ? main.client.streamIter(stream, { from: "$" }) : undefined;
    const consumer = sub && (async () => {
      for await (const d of sub) {
        const n = (d.message.payload as { n: number }).n;
        e2e.push(performance.now() - sentAt[n]);
        if (++received >= total) return allReceived();
      }
    })();
    if (sub) await sub.ready;

    let next = 0;
    let published = 0;
    const sender = main.agent ?? "ampd-bench"; // with --keyring, ampd takes only the agent's own messages
    const started = performance.now();
    const worker = async (client: AmpClient) => {
      for (let n = next++; n < total; n = next++) {
        const msg = createMessage({ type: "bench", sender, receiver: "bench", payload: { n, pad } });
        const t = performance.now();
        sentAt[n] = t;
        await client.streamAdd(stream, msg);
        pubLatency.push(performance.now() - t);
        published++;
      }
    };
    const timer = progress
      ? setInterval(() => {
        const s = (performance.now() - started) / 1000;
        process.stderr.write(`\rpublished ${published}/${total}  received ${received}  ${Math.round(published / s)} msg/s   `);
      }, 200)
      : undefined;
    try {
      await Promise.all(pubs.flatMap((p) => Array.from({ length: inflight }, () => worker(p.client))));
      const pubMs = performance.now() - started;
      let complete = true;
      if (consume) {
        const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs));
        complete = await Promise.race([done.then(() => true), timeout]);
      }
      const elapsed = performance.now() - started;
      if (timer) clearInterval(timer);
      if (progress) process.stderr.write("\n");
      const bytes = total * (size + 100);
      const out = {
        stream,
        messages: total,
        size,
        publishers: nPub,
        inflight,
        elapsedMs: round(elapsed),
        publish: { perSec: Math.round(total * 1000 / pubMs), mbPerSec: round(bytes / 1048576 / (pubMs / 1000)), latencyMs: percentiles(pubLatency) },
        consume: consume ? { received, perSec: Math.round(received * 1000 / elapsed), latencyMs: percentiles(e2e) } : null,
      };
      await sub?.return?.();
      await consumer?.catch(() => {});
      if (!args.flags.has("keep")) await main.port.request(named === undefined ? "stream.delete" : "stream.purge", { stream });
      if (json) await writeLine(JSON.stringify(out));
      else {
        const p = out.publish.latencyMs;
        await writeLine(`stream ${stream}: ${total} messages of ${size} payload bytes, ${nPub} publishers x ${inflight} in flight`);
        await writeLine(`publish:  ${out.publish.perSec} msg/s (~${out.publish.mbPerSec} MiB/s), add round trip ms p50 ${p.p50}  p90 ${p.p90}  p99 ${p.p99}  max ${p.max}`);
        if (out.consume) {
          const c = out.consume.latencyMs;
          await writeLine(`consume:  ${out.consume.received} received, ${out.consume.perSec} msg/s, end-to-end ms p50 ${c.p50}  p90 ${c.p90}  p99 ${c.p99}  max ${c.max}`);
        }
      }
      if (!complete) {
        console.error(`ampd bench: only ${received} of ${total} messages arrived within ${timeoutMs} ms`);
        return EXIT.timeout;
      }
      return 0;
    } finally {
      if (timer) clearInterval(timer);
    }
  } finally {
    for (const p of pubs) await p.client.close();
  }
}

/** Runs `ampd bench` with the arguments after the command name; resolves with the exit code. */
export const runBench = (argv: readonly string[]): Promise<number> => runCommand(argv, { name: "bench", help: BENCH_HELP, body: bench });
