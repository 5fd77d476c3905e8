/**
 * `ampd tail`: follows streams, and stream patterns (`inbox.*`, `tasks.>`)
 * including streams created while it runs, and prints their messages, pretty
 * or as JSON. It rides out an ampd restart: the client reconnects and each
 * subscription resumes after the last entry printed, so nothing is lost or
 * printed twice.
 *
 * @module
 */
import { isReadFrom } from "../../sdk/backend/args.ts";
import type { Delivery, DeliveryIterator } from "../../sdk/client/types.ts";
import type { AISPMessage } from "../../sdk/envelope/envelope.ts";
import { StreamPattern } from "../../sdk/trust/subject.ts";
import { parseDuration } from "./args.ts";
import { type Bus, CONNECT_FLAGS, type CommandHelp, EXIT_HELP, openBus, parseCommand, runCommand, UsageError, writeLine } from "./_command.ts";
import { countLimitOf, onInterrupt, reconnectForOf } from "./_follow.ts";
import { messageJson } from "./_json_form.ts";

/** `ampd tail --help`. */
export const TAIL_HELP: CommandHelp = {
  name: "tail",
  summary: "follow streams and print their messages",
  usage: ["tail STREAM|PATTERN... [flags]"],
  description: `Prints each message as it is added, until interrupted (Ctrl-C) or --count.
A PATTERN names streams as NATS subjects do: '*' is one dot-separated token,
a final '>' one or more ('inbox.*', 'tasks.>'). Streams that match are
followed, also those created while tail runs (looked for every --poll; a new
one is followed from its beginning). Quote patterns in the shell.

When ampd restarts, tail reconnects (for up to --reconnect-for) and goes on
after the last entry it printed: nothing is lost or printed twice (on the
memory backend the restart itself loses every entry).`,
  flags: {
    from: { value: "POS", help: `Start after POS: "$" (the end: new messages only, the default), "0" (the beginning) or an entry id` },
    sender: { value: "NAME", help: "Only messages from NAME" },
    receiver: { value: "NAME", help: "Only messages to NAME" },
    type: { value: "TYPE", help: "Only messages of TYPE; a trailing * matches a prefix (task.*)" },
    tier: { value: "TIER", help: "Only messages of TIER" },
    count: { value: "N", help: "Exit after printing N messages" },
    poll: { value: "DUR", help: "How often a PATTERN looks for new streams. Default: 1s" },
    "reconnect-for": { value: "DUR", help: "How long tail tries to reach ampd again after it went away before it exits 1. Default: 10m" },
  },
  shared: CONNECT_FLAGS,
  sections: [{
    title: "Output",
    text: `Pretty, one line per message:
  <time> <stream> <entryId> <type> <sender> -> <receiver> [<tier>] <payload>
--json, one line per message (stable):
  {"stream": str, "entryId": str, "message": <the message's JSON form>}`,
  }],
  examples: [
    "tail inbox.coder",
    "tail 'inbox.*'                          # every inbox, also new ones",
    "tail tasks results --from 0 --type 'task.*' --json",
    "tail broadcast --sender planner --count 10",
    "tail inbox.planner --key planner.key    # an ampd with --keyring: as planner",
  ],
  exit: EXIT_HELP,
};

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

/** True when `arg` is a pattern rather than one stream's name. */
export function isPattern(arg: string): boolean {
  return arg.split(".").some((t) => t === "*" || t === ">");
}

/** The streams tail follows, and the ones it looks for. */
class Follower {
  #bus: Bus;
  #from: string;
  #patterns: StreamPattern[];
  #followed = new Map<string, DeliveryIterator>();
  #pumps: Promise<void>[] = [];
  #pump: (it: DeliveryIterator) => Promise<void>;

  constructor(bus: Bus, o: { from: string; patterns: StreamPattern[]; pump: (it: DeliveryIterator) => Promise<void> }) {
    this.#bus = bus;
    this.#from = o.from;
    this.#patterns = o.patterns;
    this.#pump = o.pump;
  }

  /** Follows `stream` from `from` unless it is followed already; resolves once the subscription is in place. */
  follow(stream: string, from: string): Promise<string> | undefined {
    if (this.#followed.has(stream)) return undefined;
    const it = this.#bus.client.streamIter(stream, { from });
    this.#followed.set(stream, it);
    this.#pumps.push(this.#pump(it));
    return it.ready;
  }

  /** Follows every existing stream a pattern matches (from --from the first time, from "0" after). */
  async discover(first: boolean): Promise<void> {
    if (this.#patterns.length === 0) return;
    const names = (await this.#bus.port.request("streams", {})).streams as string[];
    const ready: Promise<string>[] = [];
    for (const n of names) {
      if (!this.#patterns.some((p) => p.matches(n))) continue;
      const r = this.follow(n, first ? this.#from : "0");
      if (r !== undefined) ready.push(r);
    }
    await Promise.all(ready);
  }

  get size(): number {
    return this.#followed.size;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#followed.values()].map((it) => it.return?.()));
    await Promise.allSettled(this.#pumps);
  }
}

async function tail(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, TAIL_HELP.flags);
  const get = (k: string) => args.flags.get(k) as string | undefined;
  if (args.positional.length === 0) throw new UsageError("missing STREAM: name one or more streams or patterns to follow");
  const from = get("from") ?? "$";
  if (!isReadFrom(from)) throw new UsageError(`--from must be "0", "$" or an entry id such as 1706745600000-0 (was ${JSON.stringify(from)})`);
  const limit = countLimitOf(args);
  const pollMs = parseDuration("poll", { text: get("poll") ?? "1s", min: 50, max: 3_600_000 });
  const reconnectMs = reconnectForOf(args);
  const filter: TailFilter = { sender: get("sender"), receiver: get("receiver"), type: get("type"), tier: get("tier") };
  const names = [...new Set(args.positional)];
  const patterns: StreamPattern[] = [];
  for (const n of names.filter(isPattern)) {
    try {
      patterns.push(StreamPattern.parse(n));
    } catch (e) {
      throw new UsageError(`${JSON.stringify(n)} is not a stream pattern: ${(e as Error).message}`);
    }
  }
  const json = args.flags.has("json");
  const bus = await openBus(args, "ampd-tail", { reconnect: { deadlineMs: reconnectMs } });
  let printed = 0;
  const { promise: stopped, resolve: stop } = Promise.withResolvers<void>();
  const offInterrupt = onInterrupt(() => stop());
  // Messages of several streams are printed as they come; each stream's in its order.
  let chain = Promise.resolve();
  let failure: unknown;
  const pump = async (it: DeliveryIterator) => {
    try {
      for await (const d of it) {
        if (printed >= limit) return;
        if (!matches(d.message, filter)) continue;
        printed++;
        chain = chain.then(() => writeLine(json ? JSON.stringify({ stream: d.stream, entryId: d.entryId, message: messageJson(d.message) }) : prettyLine(d)));
        await chain;
        if (printed >= limit) return stop();
      }
    } catch (e) {
      failure ??= e;
      stop();
    }
  };
  const follower = new Follower(bus, { from, patterns, pump });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.all(names.filter((n) => !isPattern(n)).map((n) => follower.follow(n, from)));
    await follower.discover(true);
    const look = () => {
      timer = setTimeout(() => {
        follower.discover(false).then(look, (e) => {
          failure ??= e;
          stop();
        });
      }, pollMs);
    };
    if (patterns.length > 0) look();
    await stopped;
  } finally {
    clearTimeout(timer);
    // The handler stays until the bus is closed: a Ctrl-C during the close is the stop already under way.
    try {
      await follower.close();
      await bus.client.close();
    } finally {
      offInterrupt();
    }
  }
  if (failure !== undefined) throw failure;
  return 0;
}

/** Runs `ampd tail` with the arguments after the command name; resolves with the exit code. */
export const runTail = (argv: readonly string[]): Promise<number> => runCommand(argv, { name: "tail", help: TAIL_HELP, body: tail });
