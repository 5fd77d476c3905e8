/**
 * `ampd stats`: the bus at a glance: streams, lengths, groups, pending, dead
 * letters, dedupe hits, backend mode and rates.
 *
 * @module
 */
import { BusError } from "../../sdk/errors.ts";
import { parseDuration } from "./args.ts";
import { type Bus, CONNECT_HELP, EXIT_HELP, noMorePositional, openBus, parseCommand, runCommand, writeLine } from "./_command.ts";

const HELP = `ampd stats: streams, groups, pending, dead letters, backend and rates

Usage:
  ampd stats [flags]

Samples ampd's counters twice, --interval apart, for the rates.

Flags:
  --interval DUR     Time between the two samples for rates. Default: 1s
  --stream NAME      Only this stream (repeat the flag: the last one wins;
                     default every stream ampd's backend holds)
${CONNECT_HELP}

--json output (stable; keys may be added):
  {"server": {"version", "uptimeMs", "backend": {"kind", "state", "reconnects",
              "path"? (the sqlite store's file), "degraded"?, "lastError"?}},
   "unavailable"?: {"code", "message"}   (the backend could not list streams:
              Redis stalled, unreachable; totals then count no streams)
   "totals": {"streams", "entries", "groups", "pending", "deadLetters",
              "dedupeHits", "duplicates", "added", "pushed", "claimed",
              "deadLettered", "expiredDropped", "connections", "subscriptions"},
   "rates": {"intervalMs", "addedPerSec", "pushedPerSec", "requestsPerSec"},
   "streams": [{"stream", "length", "firstEntryId", "lastEntryId",
                "groups", "pending", "deadLetters"}]}

Examples:
  ampd stats
  ampd stats --json --interval 0
  ampd stats --stream tasks
  ampd stats --agent ops --key ops.key        # with --keyring, an agent sees the streams it may use

${EXIT_HELP}`;

/** One stream's line in `stats`. */
export interface StreamStats {
  stream: string;
  length: number;
  firstEntryId: string | null;
  lastEntryId: string | null;
  groups: number;
  pending: number;
  deadLetters: number;
}

const num = (v: unknown) => (typeof v === "number" ? v : 0);

async function streamStats(bus: Bus, stream: string, all: Set<string>): Promise<StreamStats> {
  const info = await bus.port.streamInfo(stream);
  const g = await bus.port.groupInfo(stream);
  const groups = (g.groups as { pending: number }[] | undefined) ?? [];
  const dlq = `${stream}.dlq`;
  const deadLetters = all.has(dlq) ? (await bus.port.streamInfo(dlq)).length : 0;
  return {
    stream,
    length: info.length,
    firstEntryId: info.firstEntryId,
    lastEntryId: info.lastEntryId,
    groups: groups.length,
    pending: groups.reduce((n, x) => n + num(x.pending), 0),
    deadLetters,
  };
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd());
}

async function stats(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, { interval: {}, stream: {} });
  noMorePositional(args, 0);
  const intervalMs = parseDuration("interval", { text: (args.flags.get("interval") as string | undefined) ?? "1s", min: 0, max: 60_000 });
  const only = args.flags.get("stream") as string | undefined;
  const bus = await openBus(args, "ampd-stats");
  try {
    const first = await bus.client.info();
    const t0 = performance.now();
    const streams: StreamStats[] = [];
    let unavailable: { code: string; message: string } | undefined;
    // A stalled or unreachable Redis must not hide the backend state, which is what one runs stats for then.
    try {
      const all = new Set(((await bus.port.request("streams", {})).streams as string[]));
      const names = only !== undefined ? [only] : [...all];
      for (const s of names) streams.push(await streamStats(bus, s, all));
    } catch (e) {
      if (!(e instanceof BusError) || !e.code.startsWith("BACKEND_")) throw e;
      unavailable = { code: e.code, message: e.message };
      streams.length = 0;
    }
    const wait = intervalMs - (performance.now() - t0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const second = intervalMs > 0 ? await bus.client.info() : first;
    const elapsed = intervalMs > 0 ? performance.now() - t0 : 0;
    const rate = (k: string) => (elapsed > 0 ? Math.round(((num(second[k]) - num(first[k])) * 1000 / elapsed) * 10) / 10 : 0);
    const backend = second.backend as { kind: string; state: string; dedupeHits: number; reconnects: number; path?: string; degraded?: string; lastError?: string };
    const sources = streams.filter((s) => !s.stream.endsWith(".dlq"));
    const backendOut: Record<string, unknown> = { kind: backend.kind, state: backend.state, reconnects: backend.reconnects };
    if (backend.path !== undefined) backendOut.path = backend.path;
    if (backend.state !== "ready" && backend.degraded !== undefined) backendOut.degraded = backend.degraded;
    if (backend.state !== "ready" && backend.lastError !== undefined) backendOut.lastError = backend.lastError;
    const out = {
      server: { version: second.serverVersion, uptimeMs: second.uptimeMs, backend: backendOut },
      ...(unavailable === undefined ? {} : { unavailable }),
      totals: {
        streams: streams.length,
        entries: streams.reduce((n, s) => n + s.length, 0),
        groups: streams.reduce((n, s) => n + s.groups, 0),
        pending: streams.reduce((n, s) => n + s.pending, 0),
        deadLetters: sources.reduce((n, s) => n + s.deadLetters, 0),
        dedupeHits: backend.dedupeHits,
        duplicates: num(second.duplicates),
        added: num(second.added),
        pushed: num(second.pushed),
        claimed: num(second.claimed),
        deadLettered: num(second.deadLettered),
        expiredDropped: num(second.expiredDropped),
        connections: num(second.connections),
        subscriptions: num(second.subscriptions),
      },
      rates: { intervalMs: Math.round(elapsed), addedPerSec: rate("added"), pushedPerSec: rate("pushed"), requestsPerSec: rate("requests") },
      streams,
    };
    if (args.flags.has("json")) {
      await writeLine(JSON.stringify(out));
      return 0;
    }
    const t = out.totals;
    const lines = [
      `ampd ${out.server.version}, up ${Math.round(num(out.server.uptimeMs) / 1000)} s, backend ${backend.kind}${backend.path ? ` ${backend.path}` : ""} (${backend.state}${backend.reconnects ? `, ${backend.reconnects} reconnects` : ""})`,
      `${t.streams} streams, ${t.entries} entries, ${t.groups} groups, ${t.pending} pending, ${t.deadLetters} dead letters`,
      `added ${t.added}, duplicates ${t.duplicates} (dedupe hits ${t.dedupeHits}), pushed ${t.pushed}, claimed ${t.claimed}, dead-lettered ${t.deadLettered}, expired ${t.expiredDropped}`,
      ...(backend.state !== "ready" && backend.lastError !== undefined ? [`backend ${backend.state}: ${backend.lastError}`] : []),
      ...(unavailable === undefined ? [] : [`streams unavailable: ${unavailable.code}: ${unavailable.message}`]),
      `rates over ${out.rates.intervalMs} ms: ${out.rates.addedPerSec} added/s, ${out.rates.pushedPerSec} pushed/s, ${out.rates.requestsPerSec} requests/s`,
    ];
    if (streams.length > 0) {
      lines.push("", ...table([["STREAM", "LENGTH", "GROUPS", "PENDING", "DLQ", "LAST ENTRY"], ...streams.map((s) => [s.stream, String(s.length), String(s.groups), String(s.pending), String(s.deadLetters), s.lastEntryId ?? "-"])]));
    }
    for (const l of lines) await writeLine(l);
    return 0;
  } finally {
    await bus.client.close();
  }
}

/** Runs `ampd stats` with the arguments after the command name; resolves with the exit code. */
export const runStats = (argv: readonly string[]): Promise<number> => runCommand(argv, { name: "stats", help: HELP, body: stats });

export { table };
