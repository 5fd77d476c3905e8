/**
 * `ampd tail`: follows streams and prints their messages, pretty or as JSON.
 *
 * @module
 */
import { isReadFrom } from "../../sdk/backend/args.ts";
import type { Delivery } from "../../sdk/client/types.ts";
import type { AISPMessage } from "../../sdk/envelope/envelope.ts";
import { serialize } from "../../sdk/codec/json.ts";
import { parseCount } from "./args.ts";
import { CONNECT_HELP, EXIT_HELP, openBus, parseCommand, runCommand, UsageError, writeLine } from "./_command.ts";

const HELP = `ampd tail: follow streams and print their messages

Usage:
  ampd tail STREAM... [flags]

Prints each message as it is added, until interrupted (Ctrl-C) or --count.

Flags:
  --from POS         Start after POS: "$" (the end: new messages only, the
                     default), "0" (the beginning) or an entry id
  --sender NAME      Only messages from NAME
  --receiver NAME    Only messages to NAME
  --type TYPE        Only messages of TYPE; a trailing * matches a prefix (task.*)
  --tier TIER        Only messages of TIER
  --count N          Exit after printing N messages
${CONNECT_HELP}

Pretty output, one line per message:
  <time> <stream> <entryId> <type> <sender> -> <receiver> [<tier>] <payload>
--json output, one line per message (stable):
  {"stream": str, "entryId": str, "message": <the message's JSON form>}

Examples:
  ampd tail inbox.coder
  ampd tail tasks results --from 0 --type 'task.*' --json
  ampd tail broadcast --sender planner --count 10
  ampd tail inbox.planner --key planner.key   # an ampd with --keyring: as planner

${EXIT_HELP}`;

const FLAGS = { from: {}, sender: {}, receiver: {}, type: {}, tier: {}, count: {} };

/** Which messages `tail` prints. */
export interface TailFilter {
  sender?: string;
  receiver?: string;
  type?: string;
  tier?: string;
}

/** True when `m` passes every filter given. */
export function matches(m: AISPMessage, f: TailFilter): boolean {
  if (f.sender !== undefined && m.sender !== f.sender) return false;
  if (f.receiver !== undefined && m.receiver !== f.receiver) return false;
  if (f.tier !== undefined && m.tier !== f.tier) return false;
  if (f.type !== undefined) {
    if (f.type.endsWith("*") ? !m.type.startsWith(f.type.slice(0, -1)) : m.type !== f.type) return false;
  }
  return true;
}

function summary(v: unknown): string {
  if (v === undefined) return "";
  // A function replacer sees the value before toJSON (Buffer has one): bytes show as their size.
  const text = JSON.stringify(v, function (this: Record<string, unknown>, k, x) {
    const raw = k === "" ? x : this[k];
    return raw instanceof Uint8Array ? `<${raw.length} bytes>` : x;
  });
  return text.length > 120 ? text.slice(0, 119) + "…" : text;
}

/** One message as a line for people. */
export function prettyLine(d: Delivery): string {
  const m = d.message;
  const time = new Date(m.timestamp).toISOString().slice(11, 23);
  const tier = m.tier ? ` [${m.tier}]` : "";
  const body = m.compressed ? `<compressed ${m.compressed.alg}, ${m.compressed.size} bytes>` : summary(m.payload ?? m.spec?.task);
  return `${time} ${d.stream} ${d.entryId} ${m.type} ${m.sender} -> ${m.receiver}${tier}${body ? " " + body : ""}`;
}

async function tail(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, FLAGS);
  const get = (k: string) => args.flags.get(k) as string | undefined;
  if (args.positional.length === 0) throw new UsageError("missing STREAM: name one or more streams to follow");
  const from = get("from") ?? "$";
  if (!isReadFrom(from)) throw new UsageError(`--from must be "0", "$" or an entry id such as 1706745600000-0 (was ${JSON.stringify(from)})`);
  const countText = get("count");
  const limit = countText === undefined ? Infinity : parseCount("count", { text: countText, min: 1, max: Number.MAX_SAFE_INTEGER });
  const filter: TailFilter = { sender: get("sender"), receiver: get("receiver"), type: get("type"), tier: get("tier") };
  const json = args.flags.has("json");
  const bus = await openBus(args, "ampd-tail");
  const iterators = [...new Set(args.positional)].map((s) => bus.client.streamIter(s, { from }));
  let printed = 0;
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const onSignal = () => stop();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  // Messages of several streams are printed as they come; each stream's in its order.
  let chain = Promise.resolve();
  const pump = async (it: (typeof iterators)[number]) => {
    for await (const d of it) {
      if (!matches(d.message, filter)) continue;
      chain = chain.then(() => writeLine(json ? JSON.stringify({ stream: d.stream, entryId: d.entryId, message: JSON.parse(serialize(d.message)) }) : prettyLine(d)));
      await chain;
      if (++printed >= limit) return stop();
    }
  };
  let failure: unknown;
  const pumps = iterators.map((it) => pump(it).catch((e) => ((failure ??= e), stop())));
  try {
    await Promise.all(iterators.map((it) => it.ready));
    await stopped;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await Promise.all(iterators.map((it) => it.return?.()));
    await bus.client.close();
    await Promise.allSettled(pumps);
  }
  if (failure !== undefined) throw failure;
  return 0;
}

/** Runs `ampd tail` with the arguments after the command name; resolves with the exit code. */
export const runTail = (argv: readonly string[]): Promise<number> => runCommand(argv, { name: "tail", help: HELP, body: tail });
