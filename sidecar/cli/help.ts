/**
 * The one help renderer of ampd's commands: usage, description, flags (the
 * command's own and the shared connection flags in one aligned column),
 * output notes, examples and exit codes, from a `CommandHelp`.
 *
 * @module
 */
import type { FlagSpec } from "./args.ts";
import { displayWidth, pad } from "./table.ts";

/** Text width help is wrapped to. */
const WIDTH = 80;
/** Widest flag column; a longer flag puts its description on the next line. */
const MAX_FLAG_COLUMN = 24;

/** What `--help` of a command says. */
export interface CommandHelp {
  /** The command as typed after `ampd`: `stats`, `stream ls`. */
  name: string;
  /** One line: what it does. */
  summary: string;
  /** Usage lines, without the leading `ampd `. */
  usage: readonly string[];
  /** Paragraphs after the usage (blank lines between them are kept). */
  description?: string;
  /** The command's own flags, with `value` and `help` set. */
  flags: Record<string, FlagSpec>;
  /** Flags shared with other commands (the connection flags), listed after the command's own. */
  shared?: Record<string, FlagSpec>;
  /** Further sections, such as the `--json` output: title and preformatted text. */
  sections?: readonly { title: string; text: string }[];
  /** Example command lines, without the leading `ampd `; a `#` starts a comment, aligned. */
  examples: readonly string[];
  /** The exit codes' text. */
  exit: string;
}

/** Wraps `text` to `width` columns, each line after the first starting with `indent`. */
export function wrap(text: string, width: number, indent = ""): string[] {
  const out: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    for (const word of para.split(/ +/)) {
      if (line !== "" && displayWidth(line) + 1 + displayWidth(word) > width) {
        out.push(line);
        line = word;
      } else line = line === "" ? word : `${line} ${word}`;
    }
    out.push(line);
  }
  return out.map((l, i) => (i === 0 ? l : indent + l));
}

/** The left side of a flag's help line: `-h, --help` or `--socket PATH`. */
export function flagLabel(name: string, spec: FlagSpec): string {
  const long = `--${name}${spec.boolean ? "" : ` ${spec.value ?? "VALUE"}`}`;
  return spec.short ? `-${spec.short}, ${long}` : long;
}

/** The flag lines of several tables, in one column. */
export function renderFlags(...tables: Record<string, FlagSpec>[]): string[] {
  const entries = tables.flatMap((t) => Object.entries(t));
  const labels = entries.map(([n, s]) => flagLabel(n, s));
  const column = Math.min(MAX_FLAG_COLUMN, Math.max(...labels.map((l) => displayWidth(l))));
  const lines: string[] = [];
  entries.forEach(([, s], i) => {
    const label = labels[i]!;
    const indent = " ".repeat(2 + column + 2);
    const text = wrap(s.help ?? "", WIDTH - indent.length, indent);
    if (displayWidth(label) > column) {
      lines.push(`  ${label}`);
      lines.push(indent + text.join("\n"));
    } else {
      lines.push(`  ${pad(label, column)}  ${text.join("\n")}`.trimEnd());
    }
  });
  return lines.join("\n").split("\n");
}

/** Example lines with their `#` comments lined up. */
function renderExamples(examples: readonly string[]): string[] {
  const split = examples.map((e) => {
    const at = e.search(/\s#\s/);
    return at < 0 ? [e, ""] : [e.slice(0, at).trimEnd(), e.slice(at).trim()];
  });
  const column = Math.max(...split.filter(([, c]) => c !== "").map(([cmd]) => displayWidth(cmd) + 5), 0);
  return split.map(([cmd, comment]) => (comment === "" || column > WIDTH - 10 ? `  ampd ${cmd}${comment ? `  ${comment}` : ""}` : `  ${pad(`ampd ${cmd}`, column)}  ${comment}`));
}

/**
 * The full `--help` text of a command.
 *
 * @example
 * ```ts
 * import { renderHelp } from "./help.ts";
 *
 * const text = renderHelp({
 *   name: "stream ls", summary: "list streams", usage: ["stream ls [flags]"],
 *   flags: { prefix: { value: "TEXT", help: "Only streams starting with TEXT" } },
 *   examples: ["stream ls", "stream ls --prefix inbox.   # the inboxes"], exit: "Exit codes: 0 ok",
 * });
 * if (!text.includes("  --prefix TEXT  Only streams starting with TEXT")) throw new Error(text);
 * ```
 */
export function renderHelp(h: CommandHelp): string {
  const parts: string[] = [`ampd ${h.name}: ${h.summary}`, "", "Usage:", ...h.usage.map((u) => `  ampd ${u}`)];
  if (h.description) parts.push("", ...h.description.split("\n"));
  parts.push("", "Flags:", ...renderFlags(h.flags, h.shared ?? {}));
  for (const s of h.sections ?? []) parts.push("", `${s.title}:`, ...s.text.split("\n"));
  parts.push("", "Examples:", ...renderExamples(h.examples));
  parts.push("", h.exit);
  return parts.join("\n");
}
