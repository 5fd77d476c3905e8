/**
 * `ampd ack` and `ampd claim`: acknowledging pending entries of a group by
 * hand, and taking over the entries a stuck consumer holds.
 *
 * @module
 */
import { isEntryId } from "../../sdk/backend/args.ts";
import { decode } from "../../sdk/codec/codec.ts";
import { parseCount, parseDuration } from "./args.ts";
import { CommandError, type CommandHelp, CONNECT_FLAGS, EXIT_HELP, needPositional, NotFoundError, parseCommand, runCommand, UsageError, withBus, writeLine } from "./_command.ts";
import { needGroup } from "./groups.ts";
import { renderTable } from "./table.ts";

/** `ampd ack --help`. */
export const ACK_HELP: CommandHelp = {
  name: "ack",
  summary: "acknowledge pending entries of a group",
  usage: ["ack STREAM GROUP ENTRY_ID... [flags]"],
  description: `Removes the entries from the group's pending list, as the consumer holding
them would on success: they are not redelivered. Use it for work done outside
the consumer, or that must not run again ('ampd pending' lists the ids).`,
  flags: {},
  shared: CONNECT_FLAGS,
  sections: [{ title: "Output", text: `  <entryId> acked       (one line per id; --json: {"entryId", "acked": bool})` }],
  examples: [
    "ack tasks workers 1706745600000-0",
    "ack tasks workers 1706745600000-0 1706745600000-1 --json",
  ],
  exit: `${EXIT_HELP}\nAn id that is not pending in the group (never delivered, already acked) is\nexit 1, named on stderr; the other ids are still acked.`,
};

async function ack(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, ACK_HELP.flags);
  const stream = needPositional(args, { index: 0, what: "STREAM" });
  const group = needPositional(args, { index: 1, what: "GROUP" });
  const ids = [...new Set(args.positional.slice(2))];
  if (ids.length === 0) throw new UsageError("missing ENTRY_ID: name the entries to acknowledge ('ampd pending STREAM GROUP' lists them)");
  for (const id of ids) if (!isEntryId(id)) throw new UsageError(`${JSON.stringify(id)} is not an entry id such as 1706745600000-0`);
  const json = args.flags.has("json");
  return await withBus(args, "ampd-ack", async (bus) => {
    await needGroup(bus, { stream, group });
    const missing: string[] = [];
    for (const id of ids) {
      const acked = (await bus.port.ack({ stream, group }, [id])) === 1;
      if (!acked) missing.push(id);
      await writeLine(json ? JSON.stringify({ entryId: id, acked }) : `${id} ${acked ? "acked" : "not pending"}`);
    }
    if (missing.length > 0) throw new NotFoundError(`not pending in group ${JSON.stringify(group)} of ${JSON.stringify(stream)}: ${missing.join(", ")}`);
    return 0;
  });
}

/** Runs `ampd ack` with the arguments after the command name; resolves with the exit code. */
export const runAck = (argv: readonly string[]): Promise<number> => runCommand(argv, { name: "ack", help: ACK_HELP, body: ack });

/** `ampd claim --help`. */
export const CLAIM_HELP: CommandHelp = {
  name: "claim",
  summary: "take over pending entries of a group",
  usage: ["claim STREAM GROUP --consumer NAME [flags]"],
  description: `Moves entries pending at least --min-idle (oldest first) to consumer NAME,
counting a delivery, and prints them: what a live consumer does on its own
after ampd's --claim-timeout, done now. An entry past ampd's --max-deliveries
goes to the dead-letter stream instead. NAME then holds the entries: a
consumer of that name acks them, or 'ampd ack' does.`,
  flags: {
    consumer: { value: "NAME", help: "The consumer that takes the entries over. Required" },
    "min-idle": { value: "DUR", help: "Only entries pending at least this long. Default: ampd's --claim-timeout" },
    count: { value: "N", help: "Most entries claimed. Default: 100" },
  },
  shared: CONNECT_FLAGS,
  sections: [{
    title: "--json output (stable), one line per entry",
    text: `  {"entryId", "deliveries", "type", "sender", "receiver"}
  and for each entry that went to the dead-letter stream instead:
  {"entryId", "deadLetter": <its entry id in <STREAM>.dlq>}`,
  }],
  examples: [
    "claim tasks workers --consumer w2",
    "claim tasks workers --consumer w2 --min-idle 0 --count 10   # everything pending",
  ],
  exit: `${EXIT_HELP}\nA missing group is exit 1; nothing old enough to claim is exit 0 ("nothing to claim").`,
};

async function claim(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, CLAIM_HELP.flags);
  const get = (k: string) => args.flags.get(k) as string | undefined;
  const stream = needPositional(args, { index: 0, what: "STREAM" });
  const group = needPositional(args, { index: 1, what: "GROUP" });
  if (args.positional.length > 2) throw new UsageError(`unexpected argument ${JSON.stringify(args.positional[2])}`);
  const consumer = get("consumer");
  if (consumer === undefined || consumer === "") throw new UsageError("--consumer NAME is required: the consumer that takes the entries over");
  const minIdle = get("min-idle") === undefined ? undefined : parseDuration("min-idle", { text: get("min-idle")!, min: 0, max: 24 * 3_600_000 });
  const count = parseCount("count", { text: get("count") ?? "100", min: 1, max: 10_000 });
  const json = args.flags.has("json");
  return await withBus(args, "ampd-claim", async (bus) => {
    await needGroup(bus, { stream, group });
    const dlq = `${stream}.dlq`;
    const dlqBefore = (await bus.port.streamInfo(dlq)).lastEntryId ?? "0";
    let r;
    try {
      r = await bus.port.request("claim", { stream, group, consumer, count, ...(minIdle === undefined ? {} : { minIdle }) });
    } catch (e) {
      throw new CommandError((e as Error).message, { cause: e });
    }
    const entries = (r.entries as [string, Uint8Array, number][]).map(([entryId, msg, deliveries]) => {
      const m = decode(msg);
      return { entryId, deliveries, type: m.type, sender: m.sender, receiver: m.receiver };
    });
    // Entries past ampd's --max-deliveries went to the dead-letter stream instead: say which.
    const moved = (await bus.client.streamRead({ [dlq]: dlqBefore }, { count: 10_000 })).filter((d) => {
      const p = d.message.payload as { group?: unknown; consumer?: unknown } | undefined;
      return d.message.type === "dead-letter" && p?.group === group && p?.consumer === consumer;
    }).map((d) => ({ entryId: String((d.message.payload as { entryId: unknown }).entryId), dlqEntryId: d.entryId }));
    if (json) {
      for (const e of entries) await writeLine(JSON.stringify(e));
      for (const m of moved) await writeLine(JSON.stringify({ entryId: m.entryId, deadLetter: m.dlqEntryId }));
      return 0;
    }
    if (entries.length === 0 && moved.length === 0) {
      await writeLine(`${stream} ${group}: nothing to claim${minIdle === undefined ? " (nothing pending longer than ampd's --claim-timeout; --min-idle 0 takes everything)" : ""}`);
    } else if (entries.length > 0) {
      const rows = [["ENTRY", "DELIVERIES", "TYPE", "SENDER", "RECEIVER"], ...entries.map((e) => [e.entryId, String(e.deliveries), e.type, e.sender, e.receiver])];
      for (const l of renderTable(rows)) await writeLine(l);
    }
    if (moved.length > 0) {
      await writeLine(`${moved.length} moved to ${dlq} instead (delivered more than ampd's --max-deliveries): ${moved.map((m) => m.entryId).join(", ")}; 'ampd dlq ${stream}' lists them`);
    }
    return 0;
  });
}

/** Runs `ampd claim` with the arguments after the command name; resolves with the exit code. */
export const runClaim = (argv: readonly string[]): Promise<number> => runCommand(argv, { name: "claim", help: CLAIM_HELP, body: claim });
