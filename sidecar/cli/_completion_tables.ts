/**
 * The flag tables `ampd completion` writes its scripts from: each command's
 * own `--help` spec (tests/cli check that every command of `COMMANDS` is here).
 *
 * @module
 */
import type { FlagSpec } from "./args.ts";
import { ACK_HELP, CLAIM_HELP } from "./ack.ts";
import { BENCH_HELP } from "./bench.ts";
import { DLQ_HELP } from "./dlq.ts";
import { GROUPS_HELP, PENDING_HELP } from "./groups.ts";
import type { CommandHelp } from "./help.ts";
import { KEYGEN_HELP } from "./keygen.ts";
import { PUB_HELP } from "./pub.ts";
import { REPLY_HELP, REQ_HELP } from "./reqreply.ts";
import { STREAM_SUBCOMMANDS } from "./stream.ts";
import { STATS_HELP } from "./stats.ts";
import { TAIL_HELP } from "./tail.ts";

/** One word after `ampd` that completion knows: a command, its subcommands, and the flags of each. */
export interface CompletionEntry {
  name: string;
  summary: string;
  /** Flags of the command, or of each subcommand by name ("" for the command without one). */
  flags: Record<string, Record<string, FlagSpec>>;
}

const all = (h: CommandHelp): Record<string, FlagSpec> => ({ ...h.flags, ...h.shared });
const one = (h: CommandHelp): CompletionEntry => ({ name: h.name, summary: h.summary, flags: { "": all(h) } });

/** Every command's completion entry, in `ampd --help` order. */
export const COMPLETION_TABLES: readonly CompletionEntry[] = [
  one(PUB_HELP),
  one(TAIL_HELP),
  one(REQ_HELP),
  one(REPLY_HELP),
  one(STATS_HELP),
  {
    name: "stream",
    summary: "the streams of the bus",
    flags: Object.fromEntries([["", { help: { boolean: true, short: "h" } }], ...Object.entries(STREAM_SUBCOMMANDS).map(([n, h]) => [n, all(h)])]),
  },
  one(GROUPS_HELP),
  one(PENDING_HELP),
  one(ACK_HELP),
  one(CLAIM_HELP),
  { name: "dlq", summary: DLQ_HELP.summary, flags: { "": all(DLQ_HELP), replay: all(DLQ_HELP), purge: { ...DLQ_HELP.shared } } },
  one(KEYGEN_HELP),
  one(BENCH_HELP),
  { name: "completion", summary: "print a shell completion script", flags: { "": { help: { boolean: true, short: "h" } } } },
];
