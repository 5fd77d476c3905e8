/**
 * The subcommands of the ampd binary, by name. `ampd` alone (or `ampd serve`)
 * runs the daemon; `ampd <command>` runs one of these against a running ampd.
 *
 * @module
 */
import type { Command } from "./_command.ts";
import { benchCommand } from "./bench.ts";
import { dlqCommand } from "./dlq.ts";
import { groupsCommand, pendingCommand } from "./groups.ts";
import { keygenCommand } from "./keygen.ts";
import { pubCommand } from "./pub.ts";
import { statsCommand } from "./stats.ts";
import { tailCommand } from "./tail.ts";

/** Every command, in the order `ampd --help` lists them. */
export const COMMANDS: readonly Command[] = [pubCommand, tailCommand, statsCommand, groupsCommand, pendingCommand, dlqCommand, keygenCommand, benchCommand];

/** The command named `name`, if any. */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** The "Commands:" part of `ampd --help`. */
export function commandsHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return COMMANDS.map((c) => `  ampd ${c.name.padEnd(width)}  ${c.summary}`).join("\n");
}
