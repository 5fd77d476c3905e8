/**
 * `ampd groups` and `ampd pending`: consumer groups of a stream and their
 * pending entries.
 *
 * @module
 */
import { parseCount } from "./args.ts";
import { CONNECT_HELP, EXIT_HELP, needPositional, noMorePositional, openBus, parseCommand, runCommand, writeLine } from "./_command.ts";
import { table } from "./stats.ts";

const GROUPS_HELP = `ampd groups: the consumer groups of a stream

Usage:
  ampd groups STREAM [flags]

Flags:
${CONNECT_HELP}

--json output (stable): {"stream": str, "deadLetterStream": str,
  "groups": [{"name", "pending", "lastDeliveredId",
              "consumers": [{"name", "pending", "idleMs"}]}]}

Examples:
  ampd groups inbox.coder
  ampd groups tasks --json
  ampd groups tasks --key ops.key             # an ampd with --keyring: as ops

${EXIT_HELP}`;

interface GroupRow {
  name: string;
  pending: number;
  lastDeliveredId: string;
  consumers: { name: string; pending: number; idleMs: number }[];
}

async function groups(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, {});
  const stream = needPositional(args, { index: 0, what: "STREAM" });
  noMorePositional(args, 1);
  const bus = await openBus(args, "ampd-groups");
  try {
    const r = await bus.port.groupInfo(stream);
    const list = (r.groups as GroupRow[]).map((g) => ({
      name: g.name,
      pending: g.pending,
      lastDeliveredId: g.lastDeliveredId,
      consumers: g.consumers.map((c) => ({ name: c.name, pending: c.pending, idleMs: c.idleMs })),
    }));
    if (args.flags.has("json")) {
      await writeLine(JSON.stringify({ stream, deadLetterStream: r.deadLetterStream, groups: list }));
      return 0;
    }
    if (list.length === 0) {
      await writeLine(`${stream}: no consumer groups`);
      return 0;
    }
    const rows = [["GROUP", "CONSUMER", "PENDING", "IDLE MS", "LAST DELIVERED"]];
    for (const g of list) {
      rows.push([g.name, `(${g.consumers.length} consumers)`, String(g.pending), "", g.lastDeliveredId]);
      for (const c of g.consumers) rows.push([`  ${g.name}`, c.name, String(c.pending), String(c.idleMs), ""]);
    }
    for (const l of table(rows)) await writeLine(l);
    return 0;
  } finally {
    await bus.client.close();
  }
}

/** Runs `ampd groups` with the arguments after the command name; resolves with the exit code. */
export const runGroups = (argv: readonly string[]): Promise<number> => runCommand(argv, { name: "groups", help: GROUPS_HELP, body: groups });

const PENDING_HELP = `ampd pending: entries delivered to a group but not acked

Usage:
  ampd pending STREAM GROUP [flags]

Flags:
  --consumer NAME    Only entries held by this consumer
  --count N          Most entries listed. Default: 100
${CONNECT_HELP}

--json output (stable), one line:
  {"stream", "group", "pending": [{"entryId", "consumer", "idleMs", "deliveries"}]}

Examples:
  ampd pending inbox.coder coder
  ampd pending tasks workers --consumer w1 --json
  AMPD_KEY=ops.key ampd pending tasks workers  # the key from the environment

${EXIT_HELP}`;

async function pending(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, { consumer: {}, count: {} });
  const stream = needPositional(args, { index: 0, what: "STREAM" });
  const group = needPositional(args, { index: 1, what: "GROUP" });
  noMorePositional(args, 2);
  const count = parseCount("count", { text: (args.flags.get("count") as string | undefined) ?? "100", min: 1, max: 10_000 });
  const consumer = args.flags.get("consumer") as string | undefined;
  const bus = await openBus(args, "ampd-pending");
  try {
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
    for (const l of table(rows)) await writeLine(l);
    return 0;
  } finally {
    await bus.client.close();
  }
}

/** Runs `ampd pending` with the arguments after the command name; resolves with the exit code. */
export const runPending = (argv: readonly string[]): Promise<number> => runCommand(argv, { name: "pending", help: PENDING_HELP, body: pending });
