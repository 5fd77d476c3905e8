/**
 * The subcommands of the ampd binary, by name. `ampd` alone (or `ampd serve`)
 * runs the daemon; `ampd <command>` runs one of these against a running ampd.
 * A command's module (and the SDK client it uses) loads only when it runs,
 * so the daemon's start-up pays for none of them.
 *
 * @module
 */
import { didYouMean } from "./args.ts";
import type { Command, CommandContext } from "./_command.ts";

type Run = (argv: readonly string[], context?: CommandContext) => Promise<number>;

function command(name: string, summary: string, load: () => Promise<Run>): Command {
  return { name, summary, run: async (argv, context) => (await load())(argv, context) };
}

/** Every command, in the order `ampd --help` lists them. */
export const COMMANDS: readonly Command[] = [
  command("pub", "publish a message from flags, or JSON messages from stdin or --file", async () => (await import("./pub.ts")).runPub),
  command("tail", "follow streams or patterns (inbox.*) and print their messages", async () => (await import("./tail.ts")).runTail),
  command("req", "send a request and print the reply (request/reply from the shell)", async () => (await import("./reqreply.ts")).runReq),
  command("reply", "answer requests on a stream with a fixed payload or a command's output", async () => (await import("./reqreply.ts")).runReply),
  command("stats", "streams, lengths, groups, pending, lag, dead letters, removed, rates", async () => (await import("./stats.ts")).runStats),
  command("stream", "streams: 'stream ls', 'info', 'rm', 'purge', 'retention'", async () => (await import("./stream.ts")).runStream),
  command("groups", "the consumer groups of a stream: consumers, pending and lag", async () => (await import("./groups.ts")).runGroups),
  command("pending", "entries of a group delivered but not acked", async () => (await import("./groups.ts")).runPending),
  command("ack", "acknowledge pending entries of a group by id", async () => (await import("./ack.ts")).runAck),
  command("claim", "take over pending entries of a group (a stuck consumer's)", async () => (await import("./ack.ts")).runClaim),
  command("dlq", "a stream's dead letters: list; 'dlq replay' puts them back; 'dlq purge'", async () => (await import("./dlq.ts")).runDlq),
  command("keygen", "make an agent's key file and print its keyring entry", async () => (await import("./keygen.ts")).runKeygen),
  command("bench", "publish/consume load with throughput and latency percentiles", async () => (await import("./bench.ts")).runBench),
  command("completion", "print a bash or zsh completion script ('ampd completion bash')", async () => (await import("./completion.ts")).runCompletion),
];

/** The command named `name`, if any. */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** The error text for `ampd WORD` when WORD is no command: with the closest command, if one is close. */
export function unknownCommand(word: string): string {
  return `unknown command ${JSON.stringify(word)}${didYouMean(word, ["serve", ...COMMANDS.map((c) => c.name)], (n) => `'ampd ${n}'`)}`;
}

/** The "Commands:" part of `ampd --help`. */
export function commandsHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return COMMANDS.map((c) => `  ampd ${c.name.padEnd(width)}  ${c.summary}`).join("\n");
}
