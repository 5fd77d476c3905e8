/**
 * What every `ampd <command>` shares: the connection flags, opening the bus,
 * and turning failures into exit codes (0 ok, 1 runtime failure such as ampd
 * unreachable, 2 usage).
 *
 * @module
 */
import { type AmpClient } from "../../sdk/client/client.ts";
import { inboxOf } from "../../sdk/client/types.ts";
import { connect } from "../../sdk/client/connect.ts";
import { AmpbusError, formatPath, ValidationError } from "../../sdk/errors.ts";
import { BusError } from "../../sdk/errors.ts";
import type { SocketPort } from "../../sdk/client/socket_port.ts";
import { type FlagSpec, parseArgs, type ParsedArgs, UsageError } from "./args.ts";

/** A subcommand of the ampd binary. */
export interface Command {
  name: string;
  /** One line for `ampd --help`. */
  summary: string;
  /** Runs with the arguments after the command name; resolves with the exit code. */
  run(argv: readonly string[]): Promise<number>;
}

/** A failure at run time (exit code 1): ampd unreachable, a refused request... */
export class CommandError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CommandError";
  }
}

/** Flags every command that talks to ampd takes. */
export const CONNECT_FLAGS: Record<string, FlagSpec> = {
  socket: {},
  token: {},
  json: { boolean: true },
  help: { boolean: true, short: "h" },
};

/** The connection flags' help lines. */
export const CONNECT_HELP = `  --socket PATH      ampd's socket. Default: $AMPD_SOCKET, else ./ampd.sock
  --token TOKEN      Token, when ampd requires one. Default: $AMPD_TOKEN
  --json             Machine-readable output: one JSON value per line
  -h, --help         Show this help`;

/** The exit codes' help lines. */
export const EXIT_HELP = "Exit codes: 0 ok, 1 runtime failure (ampd unreachable, request refused), 2 bad usage.";

/** An open connection: the agent client and its protocol port (for ops the client has no call for). */
export interface Bus {
  client: AmpClient;
  port: SocketPort;
  socket: string;
}

/** Connects to ampd without reconnecting (a command should fail fast). */
export async function openBus(args: ParsedArgs, name: string): Promise<Bus> {
  const socket = (args.flags.get("socket") as string | undefined) ?? process.env.AMPD_SOCKET ?? "./ampd.sock";
  const token = (args.flags.get("token") as string | undefined) ?? (process.env.AMPD_TOKEN || undefined);
  try {
    const client = await connect({ socket, name, token, reconnect: false });
    return { client, port: client.port as SocketPort, socket };
  } catch (e) {
    throw new CommandError(`cannot reach ampd at ${socket}: ${(e as Error).message}`, { cause: e });
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
  command: { name: string; help: string; body: (argv: readonly string[]) => Promise<number | void> },
): Promise<number> {
  const { name, help, body } = command;
  // A reader that stops early (`ampd tail x | head -1`) is not a failure.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => process.exit(e.code === "EPIPE" ? 0 : 1));
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(help);
    return 0;
  }
  try {
    return (await body(argv)) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`ampd ${name}: ${e.message}\nRun 'ampd ${name} --help' for usage.`);
      return 2;
    }
    console.error(`ampd ${name}: ${describeError(e)}`);
    return 1;
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

export { inboxOf, UsageError };
