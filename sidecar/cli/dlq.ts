/**
 * `ampd dlq` and `ampd dlq replay`: the dead letters of a stream, and putting
 * them back.
 *
 * @module
 */
import type { Delivery } from "../../sdk/client/types.ts";
import { decode } from "../../sdk/codec/codec.ts";
import type { AISPMessage } from "../../sdk/envelope/envelope.ts";
import { serialize } from "../../sdk/codec/json.ts";
import { parseCount } from "./args.ts";
import { type Command, CONNECT_HELP, EXIT_HELP, needPositional, noMorePositional, openBus, parseCommand, runCommand, UsageError, writeLine } from "./_command.ts";
import { table } from "./stats.ts";

const HELP = `ampd dlq: dead letters of a stream, and replaying them

Usage:
  ampd dlq STREAM [flags]
  ampd dlq replay STREAM (--id ID[,ID...] | --all) [flags]

An entry a consumer group delivered more than --max-deliveries times moves to
the stream <STREAM>.dlq as a message of type dead-letter (docs/protocol.md).
"dlq" lists them; "dlq replay" adds each one's original message to the stream
it came from again, under the opId replay:<dead-letter entry id>:<opId>, so
replaying the same dead letter twice stores it once. A signed message is
replayed with its original bytes (a new opId would break the signature), so
within the dedupe window it reports duplicate. Dead letters stay in the .dlq
stream either way.

Flags:
  --count N          Most dead letters listed or replayed. Default: 100
  --id ID[,ID...]    replay: the dead letters' entry ids in <STREAM>.dlq
  --all              replay: every dead letter (up to --count)
${CONNECT_HELP}

--json output (stable), one line per dead letter:
  dlq:    {"dlqEntryId", "stream", "entryId", "group", "consumer", "deliveries",
           "reason", "message": <the original message's JSON form>}
  replay: {"dlqEntryId", "stream", "entryId", "duplicate"}

Examples:
  ampd dlq tasks
  ampd dlq tasks --json --count 10
  ampd dlq replay tasks --id 1706745600000-0
  ampd dlq replay tasks --all

${EXIT_HELP}`;

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

async function dlq(argv: readonly string[]): Promise<number> {
  const replay = argv[0] === "replay";
  const args = parseCommand(replay ? argv.slice(1) : argv, { count: {}, id: {}, all: { boolean: true } });
  const stream = needPositional(args, { index: 0, what: "STREAM" });
  noMorePositional(args, 1);
  const count = parseCount("count", { text: (args.flags.get("count") as string | undefined) ?? "100", min: 1, max: 10_000 });
  const idText = args.flags.get("id") as string | undefined;
  const ids = idText === undefined ? undefined : new Set(idText.split(",").map((s) => s.trim()).filter((s) => s !== ""));
  if (!replay && (ids !== undefined || args.flags.has("all"))) throw new UsageError("--id and --all are for 'ampd dlq replay'");
  if (replay && (ids === undefined) === !args.flags.has("all")) throw new UsageError("dlq replay needs either --id ID[,ID...] or --all");
  const json = args.flags.has("json");
  const bus = await openBus(args, "ampd-dlq");
  try {
    const all = await bus.client.streamRead({ [`${stream}.dlq`]: "0" }, { count: ids ? 10_000 : count });
    const letters = all.map(deadLetter).filter((x): x is DeadLetter => x !== undefined && (ids === undefined || ids.has(x.dlqEntryId)));
    if (!replay) {
      if (json) {
        for (const l of letters) {
          const { bytes: _b, message, ...rest } = l;
          await writeLine(JSON.stringify({ ...rest, message: JSON.parse(serialize(message)) }));
        }
      } else if (letters.length === 0) await writeLine(`${stream}.dlq: no dead letters`);
      else {
        const rows = [["DLQ ENTRY", "SOURCE ENTRY", "GROUP", "CONSUMER", "DELIVERIES", "TYPE", "SENDER", "REASON"]];
        for (const l of letters) rows.push([l.dlqEntryId, l.entryId, l.group, l.consumer, String(l.deliveries), l.message.type, l.message.sender, l.reason]);
        for (const line of table(rows)) await writeLine(line);
      }
      return 0;
    }
    if (ids !== undefined) {
      const missing = [...ids].filter((id) => !letters.some((l) => l.dlqEntryId === id));
      if (missing.length > 0) throw new UsageError(`no dead letter ${missing.join(", ")} in ${stream}.dlq`);
    }
    for (const l of letters.slice(0, count)) {
      const r = l.message.sig !== undefined
        ? await bus.port.add(l.stream, l.bytes)
        : await bus.client.streamAdd(l.stream, { ...l.message, opId: `replay:${l.dlqEntryId}:${l.message.opId}`.slice(0, 128) });
      await writeLine(json
        ? JSON.stringify({ dlqEntryId: l.dlqEntryId, stream: l.stream, entryId: r.entryId, duplicate: r.duplicate })
        : `${l.dlqEntryId} -> ${l.stream} ${r.entryId}${r.duplicate ? " duplicate" : ""}`);
    }
    return 0;
  } finally {
    await bus.client.close();
  }
}

/** `ampd dlq`. */
export const dlqCommand: Command = {
  name: "dlq",
  summary: "list a stream's dead letters; 'dlq replay' puts them back",
  run: (argv) => runCommand(argv, { name: "dlq", help: HELP, body: dlq }),
};
