/**
 * What every `ampd <command>` shares: the connection flags, opening the bus,
 * and turning failures into exit codes (0 ok, 1 runtime failure such as ampd
 * unreachable, 2 usage).
 *
 * @module
 */
import { readFileSync, statSync } from "node:fs";
import { type AmpClient } from "../../sdk/client/client.ts";
import { inboxOf } from "../../sdk/client/types.ts";
import { connect } from "../../sdk/client/connect.ts";
import { AmpbusError, formatPath, ValidationError } from "../../sdk/errors.ts";
import { BusError } from "../../sdk/errors.ts";
import type { SocketPort } from "../../sdk/client/socket_port.ts";
import type { BusPort } from "../../sdk/client/bus_port.ts";
import type { ReconnectOptions } from "../../sdk/client/reconnect.ts";
import type { SigningKey } from "../../sdk/codec/sign.ts";
import { parseKeyFile } from "../../sdk/trust/auth.ts";
import { didYouMean, type FlagSpec, parseArgs, type ParsedArgs, UsageError } from "./args.ts";
import { type CommandHelp, renderFlags, renderHelp } from "./help.ts";

/** What ampd's entry point hands a command: the daemon's flags (for `completion`). */
export interface CommandContext {
  daemonFlags?: Record<string, FlagSpec>;
}

/** A subcommand of the ampd binary. */
export interface Command {
  name: string;
  /** One line for `ampd --help`. */
  summary: string;
  /** Runs with the arguments after the command name; resolves with the exit code. */
  run(argv: readonly string[], context?: CommandContext): Promise<number>;
}

/** A failure at run time (exit code 1): ampd unreachable, a refused request... */
export class CommandError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CommandError";
  }
}

/** Something the command line named is not there: a stream, a group, an entry (exit code 1). */
export class NotFoundError extends CommandError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NotFoundError";
  }
}

/** Waited for longer than the command's --timeout (exit code 3). */
export class TimeoutError extends CommandError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/** Flags every command that talks to ampd takes. */
export const CONNECT_FLAGS: Record<string, FlagSpec> = {
  socket: { value: "PATH", help: "ampd's socket. Default: $AMPD_SOCKET, else ./ampd.sock" },
  token: { value: "TOKEN", help: "Token, when ampd requires one. Default: $AMPD_TOKEN" },
  key: {
    value: "FILE",
    help: "The agent's key file (from 'ampd keygen'): proves who this command is to an ampd with --keyring, and signs what it publishes. Default: $AMPD_KEY",
  },
  agent: { value: "NAME", help: "The agent to connect as. Default: the key file's agent, else $AMPD_AGENT" },
  json: { boolean: true, help: "Machine-readable output: one JSON value per line" },
  help: { boolean: true, short: "h", help: "Show this help" },
};

/** The connection flags' help lines. */
export const CONNECT_HELP: string = renderFlags(CONNECT_FLAGS).join("\n");

/**
 * Exit codes of every command: 0 ok, 1 a failure (ampd unreachable, a
 * request refused, something named not found), 2 bad usage, 3 timed out.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, timeout: 3 } as const;

/** The exit codes' help lines. */
export const EXIT_HELP =
  "Exit codes: 0 ok; 1 failure: ampd unreachable, a request refused, or what was\n" +
  "named (stream, group, entry, dead letter) not found; 2 bad usage (also a bad\n" +
  "--key file, or no --key for an ampd with --keyring); 3 timed out (no reply, or\n" +
  "not all messages, within --timeout).";

/** An open connection: the agent client and its protocol port (for ops the client has no call for). */
export interface Bus {
  client: AmpClient;
  /** The client's port: any op by name through `request`. */
  port: BusPort & Pick<SocketPort, "request">;
  socket: string;
  /** The agent this command connected as (--agent, the key file's, $AMPD_AGENT), if any. */
  agent?: string;
}

/** Who a command is: `--agent` / `--key` (or $AMPD_AGENT / $AMPD_KEY), read and checked. */
export interface Identity {
  /** The agent's name: `--agent`, else the key file's agent, else $AMPD_AGENT. */
  agent?: string;
  /** The key from the key file. */
  key?: SigningKey;
  /** Where the key came from, for messages: `--key FILE` or `$AMPD_KEY FILE`. */
  keyFrom?: string;
  /** The agent the key file names. */
  fileAgent?: string;
}

/** An agent name as the keyring allows it (sdk/trust/keyring.ts). */
const AGENT_NAME = /^[^\s\x00-\x1f\x7f]{1,128}$/;

const identities = new WeakMap<ParsedArgs, Promise<Identity>>();

/**
 * The identity the command's flags (or environment) name, read once per
 * command line. A key file that is missing, unreadable or not a key file,
 * and a bad agent name, are usage errors (exit 2) naming the file and field.
 */
export function identityOf(args: ParsedArgs): Promise<Identity> {
  let id = identities.get(args);
  if (id === undefined) {
    id = loadIdentity(args);
    identities.set(args, id);
  }
  return id;
}

async function loadIdentity(args: ParsedArgs): Promise<Identity> {
  const flagAgent = args.flags.get("agent") as string | undefined;
  const flagKey = args.flags.get("key") as string | undefined;
  const envAgent = process.env.AMPD_AGENT || undefined;
  const file = flagKey ?? (process.env.AMPD_KEY || undefined);
  if (flagAgent !== undefined && !AGENT_NAME.test(flagAgent)) {
    throw new UsageError(`--agent must be 1 to 128 characters without white space or control characters (was ${JSON.stringify(flagAgent)})`);
  }
  if (file === undefined) {
    const agent = flagAgent ?? envAgent;
    if (agent !== undefined && !AGENT_NAME.test(agent)) throw new UsageError(`$AMPD_AGENT must be 1 to 128 characters without white space (was ${JSON.stringify(agent)})`);
    return { agent };
  }
  const keyFrom = `${flagKey !== undefined ? "--key" : "$AMPD_KEY"} ${file}`;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === "ENOENT" ? "no such file" : err.code === "EACCES" ? "permission denied" : err.code === "EISDIR" ? "a directory, not a key file" : err.message;
    throw new UsageError(`${keyFrom}: cannot read the key file: ${why}`);
  }
  let parsed;
  try {
    parsed = await parseKeyFile(text);
  } catch (e) {
    const why = ((e as Error).message ?? String(e)).replace(/^key file: /, "");
    throw new UsageError(`${keyFrom}: not a usable key file: ${why} (a key file is what 'ampd keygen' writes: {"agent", "kid", "alg", "privateKey" or "secret"})`);
  }
  warnIfShared(file, keyFrom);
  return { agent: flagAgent ?? parsed.agent, key: parsed.key, keyFrom, fileAgent: parsed.agent };
}

/** A key file others can read is a leaked key: say so (the command goes on). */
function warnIfShared(file: string, keyFrom: string): void {
  if (process.platform === "win32") return;
  try {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) console.error(`ampd: warning: ${keyFrom} can be read by others (mode ${mode.toString(8)}); chmod 600 it`);
  } catch {
    // read a moment ago: nothing to say
  }
}

/**
 * Connects to ampd as the agent of --agent / --key; without reconnecting
 * (a command should fail fast) unless `options.reconnect` says how long to
 * ride out an outage (tail, reply).
 */
export async function openBus(args: ParsedArgs, name: string, options: { reconnect?: ReconnectOptions } = {}): Promise<Bus> {
  const socket = (args.flags.get("socket") as string | undefined) ?? process.env.AMPD_SOCKET ?? "./ampd.sock";
  const token = (args.flags.get("token") as string | undefined) ?? (process.env.AMPD_TOKEN || undefined);
  const { agent, key, keyFrom, fileAgent } = await identityOf(args);
  try {
    const client = await connect({ socket, name, token, agent, key, reconnect: options.reconnect ?? false });
    return { client, port: client.port as Bus["port"], socket, agent };
  } catch (e) {
    const code = e instanceof AmpbusError ? e.code : undefined;
    if (key === undefined && (code === "AUTH_REQUIRED" || (code === "AUTH_FAILED" && /keyring/.test((e as Error).message)))) {
      throw new UsageError(
        `ampd at ${socket} has a keyring: pass --agent NAME --key FILE (or set $AMPD_AGENT and $AMPD_KEY) to connect as an agent of it; 'ampd keygen' makes a key`,
      );
    }
    if (code === "AUTH_FAILED" && key !== undefined) {
      const hint = fileAgent !== undefined && fileAgent !== agent ? ` (the key file is ${fileAgent}'s, not ${agent}'s: drop --agent?)` : "";
      throw new CommandError(`ampd at ${socket} refused agent ${agent} with key ${key.kid} (${keyFrom}): AUTH_FAILED: ${(e as Error).message}${hint}`, { cause: e });
    }
    if (code === "AUTH_FAILED") throw new CommandError(`ampd at ${socket} refused the connection: AUTH_FAILED: ${(e as Error).message}`, { cause: e });
    throw new CommandError(`cannot reach ampd at ${socket}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Runs `use` on a bus opened as `openBus` does, and closes the bus after,
 * whether `use` resolved or threw.
 */
export async function withBus<T>(args: ParsedArgs, name: string, use: (bus: Bus) => Promise<T>): Promise<T> {
  const bus = await openBus(args, name);
  try {
    return await use(bus);
  } finally {
    await bus.client.close();
  }
}

/** Parses the command's flags; `help` set means print the help. */
export function parseCommand(argv: readonly string[], flags: Record<string, FlagSpec>): ParsedArgs {
  return parseArgs(argv, { ...CONNECT_FLAGS, ...flags });
}

/** The text of an error for people: every validation issue on its own line. */
export function describeError(e: unknown): string {
  if (e instanceof ValidationError || (e instanceof BusError && e.issues)) {
    const issues = (e as ValidationError).issues;
    return `invalid message:\n${issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`).join("\n")}`;
  }
  if (e instanceof AmpbusError) return `${e.code}: ${e.message}`;
  return (e as Error).message ?? String(e);
}

/**
 * Runs a command body: prints `help` for --help, maps UsageError to exit 2 and
 * every other failure to exit 1, with `ampd <name>: <what was wrong>` on stderr.
 */
export async function runCommand(
  argv: readonly string[],
  command: {
    name: string;
    help: string | CommandHelp;
    body: (argv: readonly string[]) => Promise<number | void>;
    /** The body prints --help itself (a command with subcommands, each with its own). */
    ownHelp?: boolean;
  },
): Promise<number> {
  const { name, body } = command;
  const help = typeof command.help === "string" ? command.help : renderHelp(command.help);
  // A reader that stops early (`ampd tail x | head -1`) is not a failure.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => process.exit(e.code === "EPIPE" ? 0 : 1));
  if (!command.ownHelp && (argv.includes("--help") || argv.includes("-h"))) {
    console.log(help);
    return 0;
  }
  try {
    return (await body(argv)) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`ampd ${name}: ${e.message}\nRun 'ampd ${name} --help' for usage.`);
      return EXIT.usage;
    }
    console.error(`ampd ${name}: ${describeError(e)}`);
    return e instanceof TimeoutError ? EXIT.timeout : EXIT.failure;
  }
}

/** Writes one line to stdout, waiting when the pipe is full. */
export function writeLine(text: string): Promise<void> | void {
  if (process.stdout.write(text + "\n")) return;
  return new Promise((resolve) => process.stdout.once("drain", () => resolve()));
}

/** A positional argument that must be present. */
export function needPositional(args: ParsedArgs, at: { index: number; what: string }): string {
  const { index, what } = at;
  const v = args.positional[index];
  if (v === undefined || v === "") throw new UsageError(`missing ${what}`);
  return v;
}

/** Rejects positional arguments past `max`. */
export function noMorePositional(args: ParsedArgs, max: number): void {
  if (args.positional.length > max) throw new UsageError(`unexpected argument ${JSON.stringify(args.positional[max])}`);
}

/** Picks the subcommand `argv[0]` among `names`; an unknown one is a usage error with the closest name. */
export function subcommand(argv: readonly string[], o: { command: string; names: readonly string[]; fallback?: string }): { sub: string; rest: readonly string[] } {
  const first = argv[0];
  if (first === undefined || first.startsWith("-")) {
    if (o.fallback !== undefined) return { sub: o.fallback, rest: argv };
    if (argv.includes("--help") || argv.includes("-h")) return { sub: "", rest: argv };
    throw new UsageError(`missing subcommand: ${o.names.map((n) => `'${o.command} ${n}'`).join(", ")}`);
  }
  if (o.names.includes(first)) return { sub: first, rest: argv.slice(1) };
  if (o.fallback !== undefined) return { sub: o.fallback, rest: argv };
  throw new UsageError(`unknown subcommand ${JSON.stringify(first)}${didYouMean(first, o.names, (n) => `'${o.command} ${n}'`)}; the subcommands are ${o.names.join(", ")}`);
}

export type { CommandHelp };
export { inboxOf, renderHelp, UsageError };
