/**
 * `ampd completion bash|zsh`: prints a shell completion script for ampd's
 * commands, subcommands and flags, written from the same flag tables the
 * commands parse with (so it cannot drift from them).
 *
 * @module
 */
import type { FlagSpec } from "./args.ts";
import { type CommandContext, type CommandHelp, noMorePositional, parseCommand, runCommand, UsageError, writeLine } from "./_command.ts";
import { COMPLETION_TABLES, type CompletionEntry } from "./_completion_tables.ts";

/** `ampd completion --help`. */
export const COMPLETION_HELP: CommandHelp = {
  name: "completion",
  summary: "print a shell completion script",
  usage: ["completion bash|zsh"],
  description: `Completes commands, subcommands (stream ls, dlq replay...) and flags; a flag
that takes a PATH or FILE completes file names.`,
  flags: { help: { boolean: true, short: "h", help: "Show this help" } },
  examples: [
    "completion bash > /etc/bash_completion.d/ampd",
    "source <(ampd completion bash)                # this shell only",
    "completion zsh > \"${fpath[1]}/_ampd\"           # then restart zsh",
  ],
  exit: "Exit codes: 0 ok, 2 bad usage (no shell, or one other than bash and zsh).",
};

const FILE_VALUES = new Set(["PATH", "FILE"]);

function flagWords(flags: Record<string, FlagSpec>): string {
  return Object.entries(flags).flatMap(([n, s]) => (s.short ? [`--${n}`, `-${s.short}`] : [`--${n}`])).join(" ");
}

function fileFlags(entries: readonly CompletionEntry[], daemon: Record<string, FlagSpec>): string[] {
  const names = new Set<string>();
  const add = (f: Record<string, FlagSpec>) => {
    for (const [n, s] of Object.entries(f)) if (s.value !== undefined && FILE_VALUES.has(s.value)) names.add(`--${n}`);
  };
  add(daemon);
  for (const e of entries) for (const f of Object.values(e.flags)) add(f);
  return [...names].sort();
}

function valueFlags(entries: readonly CompletionEntry[], daemon: Record<string, FlagSpec>): string[] {
  const names = new Set<string>();
  const add = (f: Record<string, FlagSpec>) => {
    for (const [n, s] of Object.entries(f)) if (!s.boolean) names.add(`--${n}`);
  };
  add(daemon);
  for (const e of entries) for (const f of Object.values(e.flags)) add(f);
  return [...names].sort();
}

/** The bash completion script. */
export function bashScript(entries: readonly CompletionEntry[], daemon: Record<string, FlagSpec>): string {
  const cases = entries.map((e) => {
    const subs = Object.keys(e.flags).filter((k) => k !== "");
    const lines = [`    ${e.name})`];
    if (subs.length > 0) {
      lines.push(`      if [[ -z "$sub" && "$cur" != -* ]]; then words="${subs.join(" ")}"; else case "$sub" in`);
      for (const s of subs) lines.push(`        ${s}) words="${flagWords(e.flags[s]!)}" ;;`);
      lines.push(`        *) words="${flagWords(e.flags[""] ?? {})}" ;;`, "      esac; fi ;;");
    } else lines.push(`      words="${flagWords(e.flags[""] ?? {})}" ;;`);
    return lines.join("\n");
  }).join("\n");
  const withSubs = entries.filter((e) => Object.keys(e.flags).some((k) => k !== "")).map((e) => e.name).join("|");
  return `# bash completion for ampd: source <(ampd completion bash)
_ampd() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmd="" sub="" words="" i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    case "\${COMP_WORDS[i-1]}" in ${valueFlags(entries, daemon).join("|") || "--"}) continue ;; esac
    if [[ -z "$cmd" ]]; then cmd="$w"; elif [[ -z "$sub" ]]; then case "$cmd" in ${withSubs || "-"}) sub="$w" ;; esac; fi
  done
  case "$prev" in
    ${fileFlags(entries, daemon).join("|") || "--"}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    ${valueFlags(entries, daemon).join("|") || "--"}) COMPREPLY=(); return ;;
  esac
  case "$cmd" in
    "")
      if [[ "$cur" == -* ]]; then words="${flagWords(daemon)}"; else words="serve ${entries.map((e) => e.name).join(" ")}"; fi ;;
    serve) words="${flagWords(daemon)}" ;;
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _ampd ampd
`;
}

/** A help text as a zsh _arguments description: without its "Default: ..." part; `[` `]` `:` and `'` made safe. */
function zshText(text: string): string {
  const short = text.replace(/\s*Default: .*$/s, "");
  return short.replace(/\[/g, "(").replace(/\]/g, ")").replace(/:/g, " -").replace(/'/g, "'\\''").replace(/\s+/g, " ").trim();
}

function zshArgs(flags: Record<string, FlagSpec>): string {
  return Object.entries(flags).map(([n, s]) => {
    const desc = zshText(s.help ?? "");
    const value = s.boolean ? "" : `:${(s.value ?? "value").toLowerCase()}:${s.value !== undefined && FILE_VALUES.has(s.value) ? "_files" : " "}`;
    return s.short ? `'(-${s.short} --${n})'{-${s.short},--${n}}'[${desc}]${value}'` : `'--${n}[${desc}]${value}'`;
  }).join(" \\\n        ");
}

/** The zsh completion script. */
export function zshScript(entries: readonly CompletionEntry[], daemon: Record<string, FlagSpec>): string {
  const described = entries.map((e) => `    '${e.name}:${zshText(e.summary)}'`).join("\n");
  const cases = entries.map((e) => {
    const subs = Object.keys(e.flags).filter((k) => k !== "");
    if (subs.length === 0) return `    ${e.name})\n      _arguments -s ${zshArgs(e.flags[""] ?? {})} '*: :_files' ;;`;
    const inner = subs.map((s) => `        ${s}) _arguments -s ${zshArgs(e.flags[s]!)} '*: :_files' ;;`).join("\n");
    return `    ${e.name})
      if (( CURRENT == 3 )) && [[ "$words[3]" != -* ]]; then
        local -a subs; subs=(${subs.join(" ")}); _describe 'subcommand' subs; return
      fi
      case "$words[3]" in
${inner}
        *) _arguments -s ${zshArgs(e.flags[""] ?? {})} '*: :_files' ;;
      esac ;;`;
  }).join("\n");
  return `#compdef ampd
# zsh completion for ampd: ampd completion zsh > "\${fpath[1]}/_ampd"
_ampd() {
  local -a commands
  commands=(
    'serve:run the daemon (the default)'
${described}
  )
  if (( CURRENT == 2 )) && [[ "$words[2]" != -* ]]; then
    _describe 'command' commands
    return
  fi
  case "$words[2]" in
    serve|-*)
      _arguments -s ${zshArgs(daemon)} ;;
${cases}
  esac
}
if [[ "$funcstack[1]" == "_ampd" ]]; then _ampd "$@"; else compdef _ampd ampd; fi
`;
}

async function completion(argv: readonly string[], context: CommandContext | undefined): Promise<number> {
  const args = parseCommand(argv, {});
  noMorePositional(args, 1);
  const shell = args.positional[0];
  if (shell === undefined) throw new UsageError("missing SHELL: bash or zsh");
  const entries = COMPLETION_TABLES;
  const daemon = context?.daemonFlags ?? {};
  if (shell === "bash") await writeLine(bashScript(entries, daemon));
  else if (shell === "zsh") await writeLine(zshScript(entries, daemon));
  else throw new UsageError(`SHELL must be bash or zsh (was ${JSON.stringify(shell)})`);
  return 0;
}

/** Runs `ampd completion` with the arguments after the command name; resolves with the exit code. */
export const runCompletion = (argv: readonly string[], context?: CommandContext): Promise<number> =>
  runCommand(argv, { name: "completion", help: COMPLETION_HELP, body: (a) => completion(a, context) });
