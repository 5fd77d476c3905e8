/**
 * The printed report of the bus benchmark (`bus.ts`): one Markdown table per
 * comparison, every figure min / median / max over the rounds (one figure
 * for a single round), the load average at each round's start, and the
 * targets ampd is held to.
 *
 * @module
 */
import type { Latency, Pacing } from "./_latency.ts";
import { minMedMax, type Rate, type Recorder } from "./_rows.ts";
import { PATH, TABLE } from "./_systems.ts";
import { cpuMedian, median } from "./_stats.ts";
import { cpuCell, formatInt, formatTable } from "./_table.ts";

const PROCS = ["client", "ampd", "redis", "nats"] as const;
const mb = (b: number) => (b / (1024 * 1024)).toFixed(1);
const ms = (x: number) => (Number.isNaN(x) ? "—" : x < 10 ? x.toFixed(3) : x.toFixed(1));

/** What the run measured, for `report()`. */
export interface BusResults {
  rec: Recorder;
  lats: Map<string, Latency[]>;
  /** Per kind, each start's spawn → first request answered, → ready line, and a note (ampd's own "ready in"; nats: JetStream API answered), ms. */
  starts: Map<string, { first: number; readyLine: number; note: number }[]>;
  idleRss: Record<string, number>;
  peak: Record<string, number>;
  /** ampd's CPU share over 1 s with nothing sent: `one` (1 agent) and `many` (+ the idle agents). */
  idleCpu: Record<string, number>;
  noise: { p50: number; p99: number; max: number };
  roundLoad: number[];
  latLoad: number[];
  sys: Record<"mem" | "redis" | "raw" | "js" | "core" | "one" | "many" | "inproc", string>;
  head: {
    bun: string;
    redis: string;
    nats: string | undefined;
    natsSkip: string | undefined;
    n: number;
    nLarge: number;
    seedBytes: number;
    largeBytes: number;
    inflight: number;
    rounds: number;
    subscribers: number;
    fanoutMsgs: number;
    idleAgents: number;
    pacing: Pacing;
    starts: number;
  };
}

/** The report as Markdown text. */
export function report(x: BusResults): string {
  const { rec, head: h, sys } = x;
  const out: string[] = [];
  const rows = (table: string) => rec.rows.filter((r) => r.name.startsWith(`${table}|`));
  const path = (r: Rate) => r.name.slice(r.name.indexOf("|") + 1);
  const cpu = (r: Rate) => cpuCell(PROCS, (k) => cpuMedian(r, k));
  const rateTable = (table: string, unit: string, extra?: { head: string; cell: (r: Rate) => string }) =>
    formatTable(
      ["path", "system", `${unit} min / median / max`, ...(extra ? [extra.head] : []), "CPU client / ampd / redis / nats"],
      rows(table).map((r) => [path(r), r.backend, minMedMax(r.rates), ...(extra ? [extra.cell(r)] : []), cpu(r)]),
    );
  const loads = (xs: number[]) => xs.map((l) => l.toFixed(2)).join(", ");

  out.push(`## Bus benchmark (Bun ${h.bun}, redis-server ${h.redis}, ${h.nats ? `nats-server ${h.nats}` : "no nats-server"}; ${h.inflight} in flight; ${h.rounds === 1 ? "1 round" : `${h.rounds} rounds, systems interleaved, order rotated each round`})`);
  out.push("");
  out.push(`Load average (1 min, ${navigator.hardwareConcurrency} cores) at the start of each round: latency ${loads(x.latLoad)}; throughput ${loads(x.roundLoad)}.`);
  out.push(`Machine noise: an idle setTimeout(1) fired late by p50 ${x.noise.p50.toFixed(3)} ms, p99 ${x.noise.p99.toFixed(3)} ms, max ${x.noise.max.toFixed(2)} ms.`);
  if (h.natsSkip) out.push(`NATS rows skipped: ${h.natsSkip}`);
  out.push("CPU = median share of one core over the rounds (client = this process; over 100% = more than one thread).");
  out.push("");
  out.push(`### 1. acked publish, seed message (${formatInt(h.n)} × ${h.seedBytes} B per row)`);
  out.push(rateTable(TABLE.seed, "msg/s"));
  out.push("");
  out.push(`### 2. acked publish, 16 KiB result message (${formatInt(h.nLarge)} × ${h.largeBytes} B per row)`);
  out.push(rateTable(TABLE.large, "msg/s", { head: "MB/s median", cell: (r) => ((median(r.rates) * h.largeBytes) / 1e6).toFixed(0) }));
  out.push("");
  out.push(`### 3. group consume + ack (the ${formatInt(h.n)} seed entries the publish row stored; each delivered once, all acked, nothing pending)`);
  out.push(rateTable(TABLE.group, "msg/s"));
  out.push("");
  out.push(`### 4. fan-out: ${formatInt(h.fanoutMsgs)} seed messages (acked publish, ${h.inflight} in flight) to ${h.subscribers} subscriber connections, each receiving every one (publish start → last delivery)`);
  out.push(rateTable(TABLE.fanout, "deliveries/s", { head: "msg/s median", cell: (r) => formatInt(median(r.rates) / h.subscribers) }));
  out.push("");
  out.push(`### 5. publish-to-delivery latency (${formatInt(h.pacing.rate)} msg/s for ${h.pacing.seconds} s after ${h.pacing.warm} s warm-up, one publisher and one subscriber connection; ms, min / median / max over rounds)`);
  out.push(formatTable(
    ["path", "sent msg/s", "p50", "p90", "p99", "max", "ack p50", "ack p99", "CPU client / ampd / redis / nats"],
    [...x.lats].map(([name, ls]) => [
      name,
      formatInt(median(ls.map((l) => l.rate))),
      minMedMax(ls.map((l) => l.p50), ms),
      minMedMax(ls.map((l) => l.p90), ms),
      minMedMax(ls.map((l) => l.p99), ms),
      minMedMax(ls.map((l) => l.max), ms),
      ms(median(ls.map((l) => l.ackP50))),
      ms(median(ls.map((l) => l.ackP99))),
      cpuCell(PROCS, (k) => (ls[0].cpu[k] === undefined ? undefined : median(ls.map((l) => l.cpu[k])))),
    ]),
  ));
  out.push("(ack = the publisher's own round trip: ampd's add reply, XADD's reply, JetStream's PubAck; core NATS has none.)");
  out.push("");
  out.push(`### 6. resources: idle RSS (0.5 s after start, nothing sent), peak RSS after the run, start-up (${h.starts} fresh starts each, kinds taking turns; ms min / median / max)`);
  out.push(formatTable(
    ["server", "RSS idle MB", "RSS peak MB", "spawn → first request answered", "spawn → ready line", "note"],
    [...x.starts].map(([name, ss]) => [
      name,
      x.idleRss[name] === undefined ? "—" : mb(x.idleRss[name]),
      x.peak[name] === undefined ? "—" : mb(x.peak[name]),
      minMedMax(ss.map((s) => s.first), (v) => v.toFixed(0)),
      minMedMax(ss.map((s) => s.readyLine), (v) => v.toFixed(0)),
      name.startsWith("nats")
        ? `spawn → JetStream API answered ${minMedMax(ss.map((s) => s.note), (v) => v.toFixed(0))}`
        : `ampd's own 'ready in' ${median(ss.map((s) => s.note)).toFixed(1)} ms`,
    ]),
  ));
  out.push("(first request: ampd = a connection's hello answered; nats-server = a client connected and its PING answered.)");
  out.push("");
  out.push(`### 7. cost stays flat with scale: ampd's CPU per acked add (pre-built frames, ${formatInt(h.n)} seed adds, ${h.inflight} in flight) with 1 agent and with ${h.idleAgents} more connected agents that said hello and sit idle`);
  const usPerAdd = (r: Rate) => r.rates.map((rate, i) => ((r.cpus[i].ampd ?? NaN) / rate) * 1e6);
  const one = rec.row({ backend: sys.one, name: `${TABLE.scale}|${PATH.scale}` });
  const many = rec.row({ backend: sys.many, name: `${TABLE.scale}|${PATH.scale}` });
  const scaleRows = [[one, "one"], [many, "many"]] as const;
  out.push(formatTable(
    ["system", "msg/s min / median / max", "ampd µs CPU per add min / median / max", "ampd CPU idle (1 s, nothing sent)"],
    scaleRows.filter(([r]) => r).map(([r, k]) => [r!.backend, minMedMax(r!.rates), minMedMax(usPerAdd(r!), (v) => v.toFixed(2)), `${(x.idleCpu[k] * 100).toFixed(1)}%`]),
  ));
  if (one && many) {
    const ratios = usPerAdd(many).map((m, i) => m / usPerAdd(one)[i]);
    out.push(`Ratio µs per add (+${h.idleAgents} idle) / (1 agent), per round: ${minMedMax(ratios, (v) => `${v.toFixed(2)}x`)} (min / median / max; 1.00x = flat).`);
  }
  out.push("");
  out.push(`### ampd's add path without a socket, in this process (memory backend, ${formatInt(h.n)} seed messages)`);
  out.push(rateTable("inproc", "msg/s"));
  out.push("");
  out.push("### targets (issue 14)");
  const verdict = (ok: boolean, text: string) => `- ${ok ? "met" : "MISSED"}: ${text}`;
  const get = (backend: string, table: string, p: string) => rec.get({ backend, name: `${table}|${p}` });
  const x2 = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const sdkMem = get(sys.mem, TABLE.seed, PATH.sdk);
  const framesMem = get(sys.mem, TABLE.seed, PATH.frames);
  if (sdkMem && framesMem) {
    out.push(verdict(framesMem >= 300_000, `memory, acked publish pre-encoded ${formatInt(framesMem)} msg/s (target >= 300,000: ${x2(framesMem, 300_000)} of it)`));
    out.push(verdict(sdkMem >= 200_000, `memory, acked publish through streamAdd/port.add ${formatInt(sdkMem)} msg/s (target >= 200,000: ${x2(sdkMem, 200_000)} of it)`));
  }
  const largeMem = Math.max(get(sys.mem, TABLE.large, PATH.sdk) ?? 0, get(sys.mem, TABLE.large, PATH.frames) ?? 0);
  if (largeMem) out.push(verdict(largeMem >= 40_000, `memory, 16 KiB acked publish ${formatInt(largeMem)} msg/s (target >= 40,000: ${x2(largeMem, 40_000)} of it)`));
  if (one) {
    const us = median(usPerAdd(one));
    out.push(verdict(us <= 3, `ampd CPU per add on memory ${us.toFixed(2)} µs (target <= 3 µs)`));
  }
  const sdkRedis = get(sys.redis, TABLE.seed, PATH.sdk);
  const framesRedis = get(sys.redis, TABLE.seed, PATH.frames);
  const rawX = get(sys.raw, TABLE.seed, PATH.xadd);
  const rawE = get(sys.raw, TABLE.seed, PATH.eval);
  if (sdkRedis && framesRedis && rawX && rawE) {
    const best = Math.max(sdkRedis, framesRedis);
    out.push(verdict(best >= 0.8 * rawX, `Redis, acked publish ${formatInt(sdkRedis)} (SDK) / ${formatInt(framesRedis)} (frames) msg/s = ${x2(sdkRedis, rawX)} / ${x2(framesRedis, rawX)} raw pipelined XADD ${formatInt(rawX)} (target >= 1.0x, at least 0.8x); vs raw EVALSHA of the single-add dedupe script ${formatInt(rawE)}: ${x2(sdkRedis, rawE)} / ${x2(framesRedis, rawE)}`));
  }
  const largeRedis = Math.max(get(sys.redis, TABLE.large, PATH.sdk) ?? 0, get(sys.redis, TABLE.large, PATH.frames) ?? 0);
  const rawLarge = get(sys.raw, TABLE.large, PATH.xadd);
  if (largeRedis && rawLarge) out.push(verdict(largeRedis >= 0.8 * rawLarge, `Redis, 16 KiB acked publish ${formatInt(largeRedis)} msg/s = ${x2(largeRedis, rawLarge)} raw XADD ${formatInt(rawLarge)} (target >= 0.8x)`));
  const groupRedis = get(sys.redis, TABLE.group, PATH.group);
  const rawGroup = get(sys.raw, TABLE.group, PATH.xgroup);
  if (groupRedis && rawGroup) out.push(verdict(groupRedis >= 0.8 * rawGroup, `Redis, group consume + batched ack ${formatInt(groupRedis)} msg/s = ${x2(groupRedis, rawGroup)} raw XREADGROUP + XACK ${formatInt(rawGroup)} (target >= 0.8x)`));
  const fanRedis = get(sys.redis, TABLE.fanout, PATH.fanAmpd);
  if (fanRedis) out.push(verdict(fanRedis >= 500_000, `Redis, fan-out to ${h.subscribers} subscribers ${formatInt(fanRedis)} deliveries/s (target >= 500,000)`));
  const js = get(sys.js, TABLE.seed, PATH.js);
  if (js && sdkRedis && framesRedis) out.push(`- (no target) ampd on Redis vs JetStream acked publish ${formatInt(js)} msg/s: ${x2(sdkRedis, js)} (SDK) / ${x2(framesRedis, js)} (frames)`);
  const rawLat = x.lats.get("raw node-redis XADD → XREAD BLOCK");
  const rawP99 = rawLat === undefined ? undefined : median(rawLat.map((l) => l.p99));
  for (const [name, ls] of x.lats) {
    if (!name.startsWith("ampd")) continue;
    const p99 = median(ls.map((l) => l.p99));
    if (name.startsWith("ampd memory")) {
      out.push(verdict(p99 <= 1, `latency p99 ${name} ${p99.toFixed(3)} ms at ${formatInt(h.pacing.rate)} msg/s (median of rounds; target <= 1 ms)`));
    } else if (rawP99 !== undefined) {
      out.push(verdict(p99 <= 2 * rawP99, `latency p99 ${name} ${p99.toFixed(3)} ms = ${x2(p99, rawP99)} raw XADD → XREAD ${rawP99.toFixed(3)} ms (target <= 2x)`));
    }
  }
  for (const name of [sys.mem, sys.redis]) {
    if (x.idleRss[name] !== undefined) out.push(verdict(x.idleRss[name] <= 45 * 1024 * 1024, `idle RSS ${name} ${mb(x.idleRss[name])} MB (target <= 45 MB)`));
    const ss = x.starts.get(name);
    if (ss) {
      const m = median(ss.map((s) => s.first));
      out.push(verdict(m <= 60, `ready ${name} ${m.toFixed(0)} ms spawn → hello answered, median of ${ss.length} (target <= 60 ms)`));
    }
  }
  if (one && many) {
    const ratio = median(usPerAdd(many).map((m, i) => m / usPerAdd(one)[i]));
    out.push(verdict(ratio <= 1.1, `cost flat with scale: ampd CPU per add with ${h.idleAgents} idle agents ${ratio.toFixed(2)}x of one agent's (median of rounds; target within 10%)`));
  }
  return out.join("\n");
}
