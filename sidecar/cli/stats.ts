/**
 * `ampd stats`: the bus at a glance: streams, lengths, groups, pending, dead
 * letters, dedupe hits, backend mode and rates.
 *
 * @module
 */
import { BusError } from "../../sdk/errors.ts";
import { parseDuration } from "./args.ts";
import { type Bus, type CommandHelp, CONNECT_FLAGS, EXIT_HELP, noMorePositional, NotFoundError, parseCommand, runCommand, withBus, writeLine } from "./_command.ts";
import { renderTable } from "./table.ts";

/** `ampd stats --help`. */
export const STATS_HELP: CommandHelp = {
  name: "stats",
  summary: "streams, groups, pending, lag, dead letters, removed entries, backend and rates",
  usage: ["stats [flags]"],
  description: `Samples ampd's counters twice, --interval apart, for the rates. Per stream:
its length, groups, entries pending in them, LAG (entries not yet delivered to
a group, summed over its groups), dead letters, and the entries removed from it
by trim, by retention (RETAINED-OUT) and by purge.`,
  flags: {
    interval: { value: "DUR", help: "Time between the two samples for rates. Default: 1s" },
    stream: { value: "NAME", help: "Only this stream (exit 1 when it does not exist). Default: every stream ampd's backend holds" },
  },
  shared: CONNECT_FLAGS,
  sections: [{
    title: "--json output (stable; keys may be added)",
    text: `  {"server": {"version", "uptimeMs", "backend": {"kind", "state", "reconnects",
              "path"? (the sqlite store's file), "degraded"?, "lastError"?}},
   "unavailable"?: {"code", "message"}   (the backend could not list streams:
              Redis stalled, unreachable; totals then count no streams)
   "totals": {"streams", "entries", "groups", "pending", "lag", "deadLetters",
              "removed", "dedupeHits", "duplicates", "added", "pushed", "claimed",
              "deadLettered", "expiredDropped", "connections", "subscriptions"},
   "rates": {"intervalMs", "addedPerSec", "pushedPerSec", "requestsPerSec"},
   "streams": [{"stream", "length", "firstEntryId", "lastEntryId", "groups",
                "pending", "lag", "deadLetters",
                "removed": {"trim", "retention", "purge"}}]}`,
  }],
  examples: [
    "stats",
    "stats --json --interval 0",
    "stats --stream tasks",
    "stats --agent ops --key ops.key        # with --keyring: the streams ops may use",
  ],
  exit: EXIT_HELP,
};

/** One stream's line in `stats`. */
export interface StreamStats {
  stream: string;
  length: number;
  firstEntryId: string | null;
  lastEntryId: string | null;
  groups: number;
  pending: number;
  /** Entries not yet delivered, summed over the stream's groups. */
  lag: number;
  deadLetters: number;
  /** Entries removed by trim, retention and purge (`StreamInfo.removed`). */
  removed: { trim: number; retention: number; purge: number };
}

const num = (v: unknown) => (typeof v === "number" ? v : 0);

async function streamStats(bus: Bus, stream: string, all: Set<string>): Promise<StreamStats> {
  const info = (await bus.port.streamInfo(stream)) as Awaited<ReturnType<Bus["port"]["streamInfo"]>> & { removed?: Record<string, number> };
  const g = await bus.port.groupInfo(stream);
  const groups = (g.groups as { pending: number; lag?: number }[] | undefined) ?? [];
  const dlq = `${stream}.dlq`;
  const deadLetters = all.has(dlq) ? (await bus.port.streamInfo(dlq)).length : 0;
  return {
    stream,
    length: info.length,
    firstEntryId: info.firstEntryId,
    lastEntryId: info.lastEntryId,
    groups: groups.length,
    pending: groups.reduce((n, x) => n + num(x.pending), 0),
    lag: groups.reduce((n, x) => n + num(x.lag), 0),
    deadLetters,
    removed: { trim: num(info.removed?.trim), retention: num(info.removed?.retention), purge: num(info.removed?.purge) },
  };
}

async function stats(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, STATS_HELP.flags);
  noMorePositional(args, 0);
  const intervalMs = parseDuration("interval", { text: (args.flags.get("interval") as string | undefined) ?? "1s", min: 0, max: 60_000 });
  const only = args.flags.get("stream") as string | undefined;
  return await withBus(args, "ampd-stats", async (bus) => {
    const first = await bus.client.info();
    const t0 = performance.now();
    const streams: StreamStats[] = [];
    let unavailable: { code: string; message: string } | undefined;
    // A stalled or unreachable Redis must not hide the backend state, which is what one runs stats for then.
    try {
      const all = new Set(((await bus.port.request("streams", {})).streams as string[]));
      if (only !== undefined && !all.has(only)) throw new NotFoundError(`no stream ${JSON.stringify(only)} ('ampd stream ls' lists the streams)`);
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
        lag: streams.reduce((n, s) => n + s.lag, 0),
        removed: streams.reduce((n, s) => n + s.removed.trim + s.removed.retention + s.removed.purge, 0),
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
      `${t.streams} streams, ${t.entries} entries, ${t.groups} groups, ${t.pending} pending, ${t.lag} lag, ${t.deadLetters} dead letters, ${t.removed} removed`,
      `added ${t.added}, duplicates ${t.duplicates} (dedupe hits ${t.dedupeHits}), pushed ${t.pushed}, claimed ${t.claimed}, dead-lettered ${t.deadLettered}, expired ${t.expiredDropped}`,
      ...(backend.state !== "ready" && backend.lastError !== undefined ? [`backend ${backend.state}: ${backend.lastError}`] : []),
      ...(unavailable === undefined ? [] : [`streams unavailable: ${unavailable.code}: ${unavailable.message}`]),
      `rates over ${out.rates.intervalMs} ms: ${out.rates.addedPerSec} added/s, ${out.rates.pushedPerSec} pushed/s, ${out.rates.requestsPerSec} requests/s`,
    ];
    if (streams.length > 0) {
      const head = ["STREAM", "LENGTH", "GROUPS", "PENDING", "LAG", "DLQ", "TRIMMED", "RETAINED-OUT", "PURGED", "LAST ENTRY"];
      const rows = streams.map((s) => [s.stream, String(s.length), String(s.groups), String(s.pending), String(s.lag), String(s.deadLetters), String(s.removed.trim), String(s.removed.retention), String(s.removed.purge), s.lastEntryId ?? "-"]);
      lines.push("", ...renderTable([head, ...rows]));
    }
    for (const l of lines) await writeLine(l);
    return 0;
  });
}

/** Runs `ampd stats` with the arguments after the command name; resolves with the exit code. */
export const runStats = (argv: readonly string[]): Promise<number> => runCommand(argv, { name: "stats", help: STATS_HELP, body: stats });
