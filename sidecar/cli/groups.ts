/**
 * `ampd groups` and `ampd pending`: consumer groups of a stream (consumers,
 * pending, lag) and their pending entries.
 *
 * @module
 */
import { parseCount } from "./args.ts";
import { type Bus, type CommandHelp, CONNECT_FLAGS, EXIT_HELP, needPositional, noMorePositional, NotFoundError, parseCommand, runCommand, withBus, writeLine } from "./_command.ts";
import { renderTable } from "./table.ts";

/** `ampd groups --help`. */
export const GROUPS_HELP: CommandHelp = {
  name: "groups",
  summary: "the consumer groups of a stream",
  usage: ["groups STREAM [flags]"],
  description: `Per group: its consumers, the entries delivered and not acked (PENDING),
the entries of the stream not yet delivered to the group (LAG: Redis 7's
XINFO GROUPS lag, computed the same way on every backend) and the last entry
delivered. A growing LAG with idle consumers is a stuck group; a consumer with
PENDING entries and a large IDLE is a stuck consumer ('ampd claim' takes them over).`,
  flags: {},
  shared: CONNECT_FLAGS,
  sections: [{
    title: "--json output (stable)",
    text: `  {"stream": str, "deadLetterStream": str,
   "groups": [{"name", "pending", "lag", "lastDeliveredId",
               "consumers": [{"name", "pending", "idleMs"}]}]}`,
  }],
  examples: [
    "groups inbox.coder",
    "groups tasks --json",
    "groups tasks --key ops.key             # an ampd with --keyring: as ops",
  ],
  exit: `${EXIT_HELP}\nA stream with no consumer groups is exit 0 (and says so).`,
};

interface GroupRow {
  name: string;
  pending: number;
  lag: number;
  lastDeliveredId: string;
  consumers: { name: string; pending: number; idleMs: number }[];
}

/** The groups of `stream` as ampd's `group.info` reports them. */
export async function groupsOf(bus: Bus, stream: string): Promise<{ groups: GroupRow[]; deadLetterStream: unknown }> {
  const r = await bus.port.groupInfo(stream);
  const groups = (r.groups as GroupRow[]).map((g) => ({
    name: g.name,
    pending: g.pending,
    lag: typeof g.lag === "number" ? g.lag : 0,
    lastDeliveredId: g.lastDeliveredId,
    consumers: g.consumers.map((c) => ({ name: c.name, pending: c.pending, idleMs: c.idleMs })),
  }));
  return { groups, deadLetterStream: r.deadLetterStream };
}

/** Fails with exit 1 naming the group when `group` is not a group of `stream`. */
export async function needGroup(bus: Bus, ref: { stream: string; group: string }): Promise<GroupRow> {
  const { groups } = await groupsOf(bus, ref.stream);
  const g = groups.find((x) => x.name === ref.group);
  if (g === undefined) {
    const known = groups.length === 0 ? "it has no consumer groups" : `its groups are ${groups.map((x) => x.name).join(", ")}`;
    throw new NotFoundError(`no consumer group ${JSON.stringify(ref.group)} on stream ${JSON.stringify(ref.stream)} (${known})`);
  }
  return g;
}

async function groups(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, GROUPS_HELP.flags);
  const stream = needPositional(args, { index: 0, what: "STREAM" });
  noMorePositional(args, 1);
  return await withBus(args, "ampd-groups", async (bus) => {
    const { groups: list, deadLetterStream } = await groupsOf(bus, stream);
    if (args.flags.has("json")) {
      await writeLine(JSON.stringify({ stream, deadLetterStream, groups: list }));
      return 0;
    }
    if (list.length === 0) {
      await writeLine(`${stream}: no consumer groups`);
      return 0;
    }
    const rows = [["GROUP", "CONSUMER", "PENDING", "LAG", "IDLE MS", "LAST DELIVERED"]];
    for (const g of list) {
      rows.push([g.name, `(${g.consumers.length} consumer${g.consumers.length === 1 ? "" : "s"})`, String(g.pending), String(g.lag), "", g.lastDeliveredId]);
      for (const c of g.consumers) rows.push([`  ${g.name}`, c.name, String(c.pending), "", String(c.idleMs), ""]);
    }
    for (const l of renderTable(rows)) await writeLine(l);
    return 0;
  });
}

/** Runs `ampd groups` with the arguments after the command name; resolves with the exit code. */
export const runGroups = (argv: readonly string[]): Promise<number> => runCommand(argv, { name: "groups", help: GROUPS_HELP, body: groups });

/** `ampd pending --help`. */
export const PENDING_HELP: CommandHelp = {
  name: "pending",
  summary: "entries delivered to a group but not acked",
  usage: ["pending STREAM GROUP [flags]"],
  flags: {
    consumer: { value: "NAME", help: "Only entries held by this consumer" },
    count: { value: "N", help: "Most entries listed. Default: 100" },
  },
  shared: CONNECT_FLAGS,
  sections: [{
    title: "--json output (stable), one line",
    text: `  {"stream", "group", "pending": [{"entryId", "consumer", "idleMs", "deliveries"}]}`,
  }],
  examples: [
    "pending inbox.coder coder",
    "pending tasks workers --consumer w1 --json",
    "pending tasks workers --key ops.key    # an ampd with --keyring",
  ],
  exit: `${EXIT_HELP}\nA group that does not exist is exit 1; a group with nothing pending is exit 0.`,
};

async function pending(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, PENDING_HELP.flags);
  const stream = needPositional(args, { index: 0, what: "STREAM" });
  const group = needPositional(args, { index: 1, what: "GROUP" });
  noMorePositional(args, 2);
  const count = parseCount("count", { text: (args.flags.get("count") as string | undefined) ?? "100", min: 1, max: 10_000 });
  const consumer = args.flags.get("consumer") as string | undefined;
  return await withBus(args, "ampd-pending", async (bus) => {
    const g = await needGroup(bus, { stream, group });
    if (consumer !== undefined && !g.consumers.some((c) => c.name === consumer)) {
      throw new NotFoundError(`no consumer ${JSON.stringify(consumer)} in group ${JSON.stringify(group)} of stream ${JSON.stringify(stream)} (its consumers: ${g.consumers.map((c) => c.name).join(", ") || "none"})`);
    }
    const r = await bus.port.request("pending", { stream, group, consumer, count });
    const list = (r.pending as { entryId: string; consumer: string; idleMs: number; deliveries: number }[])
      .map((p) => ({ entryId: p.entryId, consumer: p.consumer, idleMs: p.idleMs, deliveries: p.deliveries }));
    if (args.flags.has("json")) {
      await writeLine(JSON.stringify({ stream, group, pending: list }));
      return 0;
    }
    if (list.length === 0) {
      await writeLine(`${stream} ${group}: nothing pending`);
      return 0;
    }
    const rows = [["ENTRY", "CONSUMER", "IDLE MS", "DELIVERIES"], ...list.map((p) => [p.entryId, p.consumer, String(p.idleMs), String(p.deliveries)])];
    for (const l of renderTable(rows)) await writeLine(l);
    return 0;
  });
}

/** Runs `ampd pending` with the arguments after the command name; resolves with the exit code. */
export const runPending = (argv: readonly string[]): Promise<number> => runCommand(argv, { name: "pending", help: PENDING_HELP, body: pending });
