/**
 * `ampd dlq` and `ampd dlq replay`: the dead letters of a stream, and putting
 * them back.
 *
 * @module
 */
import type { Delivery } from "../../sdk/client/types.ts";
import { BusError } from "../../sdk/errors.ts";
import { decode } from "../../sdk/codec/codec.ts";
import type { AISPMessage } from "../../sdk/envelope/envelope.ts";
import { didYouMean, parseCount } from "./args.ts";
import { type Bus, CommandError, type CommandHelp, CONNECT_FLAGS, EXIT_HELP, needPositional, noMorePositional, NotFoundError, parseCommand, runCommand, subcommand, UsageError, withBus, writeLine } from "./_command.ts";
import { messageJson } from "./_json_form.ts";
import { renderTable } from "./table.ts";

/** `ampd dlq --help`. */
export const DLQ_HELP: CommandHelp = {
  name: "dlq",
  summary: "dead letters of a stream: list, replay, purge",
  usage: ["dlq STREAM [flags]", "dlq replay STREAM (--id ID[,ID...] | --all) [flags]", "dlq purge STREAM [flags]"],
  description: `An entry a consumer group delivered more than --max-deliveries times moves to
the stream <STREAM>.dlq as a message of type dead-letter (docs/protocol.md).
"dlq" lists them; "dlq replay" has ampd (the op dlq.replay) add each one's
original message to the stream it came from again, under the opId
replay:<dead-letter entry id>:<opId>, so replaying the same dead letter twice
stores it once. A signed message is replayed with its original bytes (a new
opId would break the signature), so within the dedupe window it reports
duplicate. Dead letters stay in the .dlq stream either way: "dlq purge"
deletes them all once handled (the op stream.purge on <STREAM>.dlq).

ampd replays on behalf of the original senders: with --keyring, replay and
purge need an admin agent's key ("admin": true; others get FORBIDDEN), and each
message is still held to its signature, tier and the stream's requirements.
Every dead letter is checked before any is added: a refusal replays nothing.`,
  flags: {
    count: { value: "N", help: "Most dead letters listed, or replayed with --all. Default: 100" },
    id: { value: "ID[,ID...]", help: "replay: the dead letters' entry ids in <STREAM>.dlq (all of them are replayed; an id that is not there is exit 1)" },
    all: { boolean: true, help: "replay: every dead letter (up to --count)" },
  },
  shared: CONNECT_FLAGS,
  sections: [{
    title: "--json output (stable), one line per dead letter",
    text: `  dlq:    {"dlqEntryId", "stream", "entryId", "group", "consumer", "deliveries",
           "reason", "message": <the original message's JSON form>}
  replay: {"dlqEntryId", "stream", "entryId", "duplicate"}
  purge:  {"stream": "<STREAM>.dlq", "removed": N}`,
  }],
  examples: [
    "dlq tasks",
    "dlq tasks --json --count 10",
    "dlq replay tasks --id 1706745600000-0",
    "dlq replay tasks --all",
    "dlq purge tasks                         # once every dead letter is handled",
    "dlq replay tasks --all --key ops.key    # an ampd with --keyring: an admin",
  ],
  exit: `${EXIT_HELP}\nA dead letter --id names that is not in <STREAM>.dlq, and a purge of a stream\nwith no dead-letter stream, are exit 1.`,
};

interface DeadLetter {
  dlqEntryId: string;
  stream: string;
  entryId: string;
  group: string;
  consumer: string;
  deliveries: number;
  reason: string;
  bytes: Uint8Array;
  message: AISPMessage;
}

function deadLetter(d: Delivery): DeadLetter | undefined {
  const p = d.message.payload as Record<string, unknown> | undefined;
  if (d.message.type !== "dead-letter" || !p || !(p.message instanceof Uint8Array)) return undefined;
  return {
    dlqEntryId: d.entryId,
    stream: String(p.stream),
    entryId: String(p.entryId),
    group: String(p.group),
    consumer: String(p.consumer),
    deliveries: Number(p.deliveries),
    reason: String(p.reason),
    bytes: p.message,
    message: decode(p.message),
  };
}

/** One dead letter put back by `dlq.replay`. */
interface Replayed {
  dlqEntryId: string;
  stream: string;
  entryId: string;
  duplicate: boolean;
}

/** Has ampd replay dead letters of `stream` (op `dlq.replay`); a named dead letter that is not there is exit 1. */
async function replayOn(bus: Bus, o: { stream: string; ids?: string[]; count: number }): Promise<Replayed[]> {
  const req: Record<string, unknown> = { stream: o.stream };
  if (o.ids !== undefined) req.ids = o.ids;
  else Object.assign(req, { all: true, count: o.count });
  try {
    const r = await bus.port.request("dlq.replay", req);
    return r.replayed as Replayed[];
  } catch (e) {
    if (e instanceof BusError && e.code === "BAD_ARGUMENT" && e.details?.field === "ids") throw new NotFoundError(e.message, { cause: e });
    if (e instanceof BusError && e.code === "UNKNOWN_OP") {
      throw new CommandError(`the ampd at ${bus.socket} has no dlq.replay op: it is older than this command; upgrade it`, { cause: e });
    }
    throw e;
  }
}

async function dlq(argv: readonly string[]): Promise<number> {
  const { sub, rest } = subcommand(argv, { command: "dlq", names: ["replay", "purge"], fallback: "list" });
  if (sub === "purge") return await purge(rest);
  const replay = sub === "replay";
  const args = parseCommand(rest, DLQ_HELP.flags);
  const stream = needPositional(args, { index: 0, what: "STREAM" });
  if (!replay && args.positional.length > 1) {
    throw new UsageError(`unexpected argument ${JSON.stringify(args.positional[1])}${didYouMean(stream, ["replay", "purge"], (n) => `'dlq ${n}'`)}`);
  }
  noMorePositional(args, 1);
  const count = parseCount("count", { text: (args.flags.get("count") as string | undefined) ?? "100", min: 1, max: 10_000 });
  const idText = args.flags.get("id") as string | undefined;
  const ids = idText === undefined ? undefined : new Set(idText.split(",").map((s) => s.trim()).filter((s) => s !== ""));
  if (!replay && (ids !== undefined || args.flags.has("all"))) throw new UsageError("--id and --all are for 'ampd dlq replay'");
  if (replay && (ids === undefined) === !args.flags.has("all")) throw new UsageError("dlq replay needs either --id ID[,ID...] or --all");
  if (replay && ids !== undefined && args.flags.has("count")) throw new UsageError("--count goes with --all (every --id named is replayed)");
  const json = args.flags.has("json");
  return await withBus(args, "ampd-dlq", async (bus) => {
    if (replay) {
      for (const r of await replayOn(bus, { stream, ids: ids && [...ids], count })) {
        await writeLine(json
          ? JSON.stringify({ dlqEntryId: r.dlqEntryId, stream: r.stream, entryId: r.entryId, duplicate: r.duplicate })
          : `${r.dlqEntryId} -> ${r.stream} ${r.entryId}${r.duplicate ? " duplicate" : ""}`);
      }
      return 0;
    }
    const all = await bus.client.streamRead({ [`${stream}.dlq`]: "0" }, { count });
    const letters = all.map(deadLetter).filter((x): x is DeadLetter => x !== undefined);
    if (json) {
      for (const l of letters) {
        const { bytes: _b, message, ...rest } = l;
        await writeLine(JSON.stringify({ ...rest, message: messageJson(message) }));
      }
    } else if (letters.length === 0) await writeLine(`${stream}.dlq: no dead letters`);
    else {
      const rows = [["DLQ ENTRY", "SOURCE ENTRY", "GROUP", "CONSUMER", "DELIVERIES", "TYPE", "SENDER", "REASON"]];
      for (const l of letters) rows.push([l.dlqEntryId, l.entryId, l.group, l.consumer, String(l.deliveries), l.message.type, l.message.sender, l.reason]);
      for (const line of renderTable(rows)) await writeLine(line);
    }
    return 0;
  });
}

async function purge(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, {});
  const stream = needPositional(args, { index: 0, what: "STREAM" });
  noMorePositional(args, 1);
  const dlqStream = stream.endsWith(".dlq") ? stream : `${stream}.dlq`;
  return await withBus(args, "ampd-dlq", async (bus) => {
    const known = (await bus.port.request("streams", {})).streams as string[];
    if (!known.includes(dlqStream)) throw new NotFoundError(`no dead-letter stream ${JSON.stringify(dlqStream)}: ${stream} has no dead letters to purge`);
    const r = await bus.port.request("stream.purge", { stream: dlqStream });
    const removed = Number(r.removed);
    await writeLine(args.flags.has("json") ? JSON.stringify({ stream: dlqStream, removed }) : `${dlqStream}: purged ${removed} dead letters`);
    return 0;
  });
}

/** Runs `ampd dlq` with the arguments after the command name; resolves with the exit code. */

export const runDlq = (argv: readonly string[]): Promise<number> => runCommand(argv, { name: "dlq", help: DLQ_HELP, body: dlq });
