/**
 * `ampd stream ls | info | rm | purge | trim | retention`: the streams of
 * the bus, one stream's details, and removing entries (counted per stream:
 * `ampd stats` shows them).
 *
 * @module
 */
import { BusError } from "../../sdk/errors.ts";
import { type FlagSpec, parseChoice, parseCount, parseDuration } from "./args.ts";
import { type Bus, CommandError, type CommandHelp, CONNECT_FLAGS, EXIT_HELP, needPositional, noMorePositional, NotFoundError, parseCommand, renderHelp, runCommand, subcommand, UsageError, withBus, writeLine } from "./_command.ts";
import { renderTable } from "./table.ts";

/** What `stream rm` and `stream purge` share: both refuse while groups have work left (`checkNoWork`), unless --force. */
const REMOVES_WORK = {
  flags: { force: { boolean: true, help: "Also when consumer groups still have entries pending or not yet delivered (that work is lost)" } },
  shared: CONNECT_FLAGS,
  exit: `${EXIT_HELP}\nA stream that does not exist is exit 1; one with work left (without --force) too.`,
} satisfies Partial<CommandHelp>;

const LIMITS: Record<string, FlagSpec> = {
  "max-len": { value: "N", help: "Keep at most N entries (the newest)" },
  "max-age": { value: "DUR", help: "Remove entries older than DUR (by entry id time), such as 1h or 7d" },
  policy: { value: "POLICY", help: "interest (the default: never remove an entry a group still needs) or limits (remove by the limits alone)" },
};

const SUBS: Record<string, CommandHelp> = {
  ls: {
    name: "stream ls",
    summary: "list the streams",
    usage: ["stream ls [flags]"],
    flags: { prefix: { value: "TEXT", help: "Only streams whose name starts with TEXT" } },
    shared: CONNECT_FLAGS,
    sections: [{ title: "--json output (stable), one line per stream", text: `  {"stream", "length", "lastEntryId"}` }],
    examples: ["stream ls", "stream ls --prefix inbox.", "stream ls --json"],
    exit: EXIT_HELP,
  },
  info: {
    name: "stream info",
    summary: "one stream: length, ids, groups, lag, retention, removed entries",
    usage: ["stream info STREAM [flags]"],
    flags: {},
    shared: CONNECT_FLAGS,
    sections: [{
      title: "--json output (stable; keys may be added)",
      text: `  {"stream", "length", "firstEntryId", "lastEntryId",
   "removed": {"trim", "retention", "purge"}, "droppedPending",
   "retention": {"policy", "maxLen"?, "maxAgeMs"?} | null   (the stream's own)
   "defaultRetention": {...} | null, "deadLetterStream",
   "groups": [{"name", "consumers", "pending", "lag", "lastDeliveredId"}]}`,
    }],
    examples: ["stream info tasks", "stream info tasks --json"],
    exit: `${EXIT_HELP}\nA stream that does not exist is exit 1.`,
  },
  rm: {
    name: "stream rm",
    summary: "delete a stream with its groups and dedupe keys",
    usage: ["stream rm STREAM [flags]"],
    description: `Deletes the stream, its consumer groups, its remembered opIds (dedupe keys)
and its retention, as if it had never been. Refused while a group has entries
pending or not yet delivered, unless --force.`,
    ...REMOVES_WORK,
    examples: ["stream rm bench.0190a1b2", "stream rm tasks --force          # pending work is lost"],
  },
  purge: {
    name: "stream purge",
    summary: "remove every entry of a stream (its groups stay)",
    usage: ["stream purge STREAM [flags]"],
    description: `Removes every entry and forgets the stream's opIds; its consumer groups stay
at their positions. Counted as purged ('ampd stats'). Refused while a group
has entries pending or not yet delivered, unless --force.`,
    ...REMOVES_WORK,
    examples: ["stream purge scratch", "stream purge tasks --force"],
  },
  trim: {
    name: "stream trim",
    summary: "remove a stream's oldest entries past a length or age",
    usage: ["stream trim STREAM (--max-len N | --max-age DUR) [flags]"],
    description: `Removes the oldest entries past the limits, now. Under the interest policy
(the default, or the stream's own) it stops at the first entry a consumer
group still needs: pending in a group, or not yet delivered to one. Counted
as trimmed ('ampd stats').`,
    flags: LIMITS,
    shared: CONNECT_FLAGS,
    sections: [{ title: "Output", text: `  <stream>: removed N entries          (--json: {"stream", "removed"})` }],
    examples: ["stream trim tasks --max-len 1000", "stream trim logs --max-age 1h --policy limits"],
    exit: `${EXIT_HELP}\nA stream that does not exist is exit 1.`,
  },
  retention: {
    name: "stream retention",
    summary: "set (or clear) a stream's own retention",
    usage: ["stream retention STREAM [--max-len N] [--max-age DUR] [--policy POLICY] [flags]", "stream retention STREAM --clear [flags]"],
    description: `ampd's retention sweep trims every stream by its own retention, else by the
default (ampd --retain, 7 days, and --retention-policy, interest). With no
limit and no --clear, prints the stream's retention.`,
    flags: { ...LIMITS, clear: { boolean: true, help: "Drop the stream's own retention: the default applies again" } },
    shared: CONNECT_FLAGS,
    examples: [
      "stream retention tasks --max-age 1d                 # interest: pending work stays",
      "stream retention audit --max-len 1000000 --policy limits",
      "stream retention tasks --clear",
      "stream retention tasks",
    ],
    exit: EXIT_HELP,
  },
};

/** `ampd stream --help`: the subcommands. */
export const STREAM_HELP: CommandHelp = {
  name: "stream",
  summary: "the streams of the bus",
  usage: Object.values(SUBS).flatMap((h) => h.usage),
  description: Object.entries(SUBS).map(([n, h]) => `  ${n.padEnd(10)} ${h.summary}`).join("\n") + "\n\n'ampd stream SUBCOMMAND --help' shows each one's flags.",
  flags: {},
  shared: CONNECT_FLAGS,
  examples: ["stream ls", "stream info tasks", "stream purge scratch", "stream retention tasks --max-age 1d"],
  exit: EXIT_HELP,
};

/** The subcommands' help, for completion. */
export const STREAM_SUBCOMMANDS: Readonly<Record<string, CommandHelp>> = SUBS;

type Info = Record<string, unknown> & {
  length: number;
  lastEntryId: string | null;
  firstEntryId: string | null;
  groups: { name: string; consumers: number; pending: number; lag: number; lastDeliveredId: string }[];
  removed: { trim: number; retention: number; purge: number };
  droppedPending: number;
  retention: { policy: string; maxLen?: number; maxAgeMs?: number } | null;
  defaultRetention: { policy: string; maxLen?: number; maxAgeMs?: number } | null;
};

/** `stream.info`, with a missing stream as exit 1. */
async function infoOf(bus: Bus, stream: string): Promise<Info> {
  try {
    const { rid: _rid, ok: _ok, ...info } = await bus.port.request("stream.info", { stream });
    return info as Info;
  } catch (e) {
    if (e instanceof BusError && e.code === "NOT_FOUND") throw new NotFoundError(`no stream ${JSON.stringify(stream)} ('ampd stream ls' lists the streams)`, { cause: e });
    throw e;
  }
}

function retentionText(r: { policy: string; maxLen?: number; maxAgeMs?: number } | null): string {
  if (r === null) return "-";
  const limits = [r.maxLen === undefined ? "" : `max ${r.maxLen} entries`, r.maxAgeMs === undefined ? "" : `max age ${durationText(r.maxAgeMs)}`].filter((x) => x !== "");
  return `${limits.length === 0 ? "no limit" : limits.join(", ")} (${r.policy})`;
}

function durationText(ms: number): string {
  for (const [unit, n] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) if (ms % n === 0) return `${ms / n}${unit}`;
  return `${ms}ms`;
}

/** Refuses to remove work a group still has, unless --force. */
function checkNoWork(info: Info, o: { stream: string; force: boolean; what: string }): void {
  const busy = info.groups.filter((g) => g.pending > 0 || g.lag > 0);
  if (busy.length === 0 || o.force) return;
  const list = busy.map((g) => `${g.name} (${g.pending} pending, ${g.lag} not yet delivered)`).join(", ");
  throw new CommandError(`${o.stream} still has work for its consumer groups: ${list}; ${o.what} anyway with --force (that work is lost), or let the groups finish first`);
}

async function listStreams(bus: Bus, o: { prefix: string | undefined; json: boolean }): Promise<number> {
  const { prefix, json } = o;
  const names = ((await bus.port.request("streams", {})).streams as string[]).filter((n) => prefix === undefined || n.startsWith(prefix));
  const rows: string[][] = [["STREAM", "LENGTH", "LAST ENTRY"]];
  for (const n of names) {
    const i = await bus.port.streamInfo(n);
    if (json) await writeLine(JSON.stringify({ stream: n, length: i.length, lastEntryId: i.lastEntryId }));
    else rows.push([n, String(i.length), i.lastEntryId ?? "-"]);
  }
  if (!json) {
    if (names.length === 0) await writeLine(prefix === undefined ? "no streams" : `no streams starting with ${JSON.stringify(prefix)}`);
    else for (const l of renderTable(rows)) await writeLine(l);
  }
  return 0;
}

async function stream(argv: readonly string[]): Promise<number> {
  const { sub, rest } = subcommand(argv, { command: "stream", names: Object.keys(SUBS) });
  if (sub === "") {
    await writeLine(renderHelp(STREAM_HELP));
    return 0;
  }
  const help = SUBS[sub]!;
  if (rest.includes("--help") || rest.includes("-h")) {
    await writeLine(renderHelp(help));
    return 0;
  }
  const args = parseCommand(rest, help.flags);
  const get = (k: string) => args.flags.get(k) as string | undefined;
  const json = args.flags.has("json");
  if (sub === "ls") {
    noMorePositional(args, 0);
    return await withBus(args, "ampd-stream", (bus) => listStreams(bus, { prefix: get("prefix"), json }));
  }
  const name = needPositional(args, { index: 0, what: "STREAM" });
  noMorePositional(args, 1);
  const policy = get("policy") === undefined ? undefined : parseChoice("policy", { text: get("policy")!, choices: ["interest", "limits"] as const });
  const maxLen = get("max-len") === undefined ? undefined : parseCount("max-len", { text: get("max-len")!, min: 0, max: 0x7fffffff });
  const maxAge = get("max-age") === undefined ? undefined : parseDuration("max-age", { text: get("max-age")!, min: 1000, max: 100 * 365 * 86_400_000 });
  if (sub === "trim" && maxLen === undefined && maxAge === undefined) throw new UsageError("stream trim needs --max-len N or --max-age DUR");
  if (sub === "retention" && args.flags.has("clear") && (maxLen !== undefined || maxAge !== undefined || policy !== undefined)) {
    throw new UsageError("--clear goes alone: it drops the stream's own retention");
  }
  return await withBus(args, "ampd-stream", async (bus) => {
    const info = await infoOf(bus, name);
    if (sub === "info") {
      if (json) {
        await writeLine(JSON.stringify(info));
        return 0;
      }
      const lines = [
        `stream ${name}: ${info.length} entries, first ${info.firstEntryId ?? "-"}, last ${info.lastEntryId ?? "-"}`,
        `retention: ${info.retention === null ? `default, ${retentionText(info.defaultRetention)}` : retentionText(info.retention)}`,
        `removed: ${info.removed.trim} trimmed, ${info.removed.retention} by retention, ${info.removed.purge} purged (${info.droppedPending} of them pending in a group)`,
        `dead letters: ${String(info.deadLetterStream)}`,
      ];
      if (info.groups.length === 0) lines.push("no consumer groups");
      else lines.push("", ...renderTable([["GROUP", "CONSUMERS", "PENDING", "LAG", "LAST DELIVERED"], ...info.groups.map((g) => [g.name, String(g.consumers), String(g.pending), String(g.lag), g.lastDeliveredId])]));
      for (const l of lines) await writeLine(l);
      return 0;
    }
    if (sub === "rm" || sub === "purge") {
      checkNoWork(info, { stream: name, force: args.flags.has("force"), what: sub === "rm" ? "delete it" : "purge it" });
      if (sub === "rm") {
        await bus.port.request("stream.delete", { stream: name });
        await writeLine(json ? JSON.stringify({ stream: name, deleted: true }) : `${name}: deleted (${info.length} entries, ${info.groups.length} groups)`);
      } else {
        const r = await bus.port.request("stream.purge", { stream: name });
        await writeLine(json ? JSON.stringify({ stream: name, removed: r.removed }) : `${name}: purged ${String(r.removed)} entries`);
      }
      return 0;
    }
    if (sub === "trim") {
      const r = await bus.port.request("trim", { stream: name, ...(maxLen === undefined ? {} : { maxLen }), ...(maxAge === undefined ? {} : { maxAge }), ...(policy === undefined ? {} : { policy }) });
      await writeLine(json ? JSON.stringify({ stream: name, removed: r.removed }) : `${name}: removed ${String(r.removed)} entries`);
      return 0;
    }
    // retention
    if (!args.flags.has("clear") && maxLen === undefined && maxAge === undefined && policy === undefined) {
      await writeLine(json ? JSON.stringify({ stream: name, retention: info.retention, defaultRetention: info.defaultRetention })
        : `${name}: ${info.retention === null ? `default retention, ${retentionText(info.defaultRetention)}` : retentionText(info.retention)}`);
      return 0;
    }
    const req: Record<string, unknown> = { stream: name };
    if (args.flags.has("clear")) req.clear = true;
    if (policy !== undefined) req.policy = policy;
    if (maxLen !== undefined) req.maxLen = maxLen;
    if (maxAge !== undefined) req.maxAge = maxAge;
    const r = await bus.port.request("stream.retention", req);
    const now = r.retention as Info["retention"];
    await writeLine(json ? JSON.stringify({ stream: name, retention: now }) : `${name}: ${now === null ? `own retention cleared, default applies: ${retentionText(info.defaultRetention)}` : `retention ${retentionText(now)}`}`);
    return 0;
  });
}

/** Runs `ampd stream` with the arguments after the command name; resolves with the exit code. */
export const runStream = (argv: readonly string[]): Promise<number> =>
  runCommand(argv, { name: "stream", help: STREAM_HELP, body: stream, ownHelp: true });
