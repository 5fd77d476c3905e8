/**
 * The subcommands of the ampd binary, by name. `ampd` alone (or `ampd serve`)
 * runs the daemon; `ampd <command>` runs one of these against a running ampd.
 * A command's module (and the SDK client it uses) loads only when it runs,
 * so the daemon's start-up pays for none of them.
 *
 * @module
 */
import type { Command } from "./_command.ts";

type Run = (argv: readonly string[]) => Promise<number>;

function command(name: string, summary: string, load: () => Promise<Run>): Command {
  return { name, summary, run: async (argv) => (await load())(argv) };
}

/** Every command, in the order `ampd --help` lists them. */
export const COMMANDS: readonly Command[] = [
  command("pub", "publish a message from flags, or JSON messages from stdin", async () => (await import("./pub.ts")).runPub),
  command("tail", "follow streams and print their messages (pretty or --json)", async () => (await import("./tail.ts")).runTail),
  command("stats", "streams, lengths, groups, pending, dead letters, backend and rates", async () => (await import("./stats.ts")).runStats),
  command("groups", "the consumer groups of a stream, their consumers and pending counts", async () => (await import("./groups.ts")).runGroups),
  command("pending", "entries of a group delivered but not acked", async () => (await import("./groups.ts")).runPending),
  command("dlq", "list a stream's dead letters; 'dlq replay' puts them back", async () => (await import("./dlq.ts")).runDlq),
  command("keygen", "make an agent's key file and print its keyring entry", async () => (await import("./keygen.ts")).runKeygen),
  command("bench", "publish/consume load with throughput and latency percentiles", async () => (await import("./bench.ts")).runBench),
];

/** The command named `name`, if any. */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** The "Commands:" part of `ampd --help`. */
export function commandsHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return COMMANDS.map((c) => `  ampd ${c.name.padEnd(width)}  ${c.summary}`).join("\n");
}
