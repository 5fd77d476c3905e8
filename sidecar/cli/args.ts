/**
 * Flag parsing for ampd and its commands, on `node:util`'s `parseArgs`
 * (no dependency; it works the same in `bun build --compile`'s binary):
 * `--name value`, `--name=value`, short aliases and `--`, with typed values,
 * did-you-mean for a mistyped flag, and errors that name the flag and the
 * value. A bad flag is exit code 2.
 *
 * @module
 */
import { parseArgs as parseTokens } from "node:util";

/** A flag the user got wrong (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The kind of value a flag takes, and (for commands) how `--help` shows it. */
export interface FlagSpec {
  /** `true` for a flag that takes no value. */
  boolean?: boolean;
  /** Short alias, without the dash: `h` for `-h`. */
  short?: string;
  /** The value's name in help, such as `PATH` or `DUR`. */
  value?: string;
  /** What the flag does, for `--help`; wrapped by the help renderer. */
  help?: string;
}

/** Parsed command line: flag values by name, and the remaining positional arguments. */
export interface ParsedArgs {
  flags: Map<string, string | true>;
  positional: string[];
}

/**
 * The edit distance of `a` and `b` (optimal string alignment: insertions,
 * deletions, substitutions and swaps of neighbours each cost 1).
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known word closest to `word` (`stast` -> `stats`), if one is close
 * enough to be what was meant: within a third of its length in edits (at
 * least 1, at most 3), or one that `word` is the start of.
 */
export function closest(word: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestD || (d === bestD && best !== undefined && k < best)) {
      best = k;
      bestD = d;
    }
  }
  if (best !== undefined && bestD <= limit) return best;
  if (word.length >= 2) {
    const prefixed = [...known].filter((k) => k.startsWith(word)).sort();
    if (prefixed.length === 1) return prefixed[0];
  }
  return undefined;
}

/** `(did you mean X?)` with a leading space, or "" when nothing is close. */
export function didYouMean(word: string, known: Iterable<string>, show: (k: string) => string = (k) => k): string {
  const c = closest(word, known);
  return c === undefined ? "" : ` (did you mean ${show(c)}?)`;
}

/** Parses `argv` against the known flags; an unknown flag is a `UsageError` with the closest known flag. */
export function parseArgs(argv: readonly string[], specs: Record<string, FlagSpec>): ParsedArgs {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, s] of Object.entries(specs)) options[name] = s.short ? { type: s.boolean ? "boolean" : "string", short: s.short } : { type: s.boolean ? "boolean" : "string" };
  // Not strict: every token comes back, and the checks below word the errors (with did-you-mean).
  const { tokens } = parseTokens({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  const names = Object.keys(specs);
  for (const t of tokens) {
    if (t.kind === "positional") {
      positional.push(t.value);
      continue;
    }
    if (t.kind === "option-terminator") continue;
    const spec = Object.hasOwn(specs, t.name) ? specs[t.name] : undefined;
    if (spec === undefined) {
      if (t.rawName.startsWith("--")) throw new UsageError(`unknown flag ${t.rawName}${didYouMean(t.name, names, (k) => `--${k}`)}`);
      const shorts = Object.entries(specs).filter(([, s]) => s.short).map(([n, s]) => `-${s.short} (--${n})`);
      throw new UsageError(`unknown flag ${t.rawName}${shorts.length > 0 ? `; short flags here: ${shorts.join(", ")}` : ""}`);
    }
    const shown = `--${t.name}`;
    if (spec.boolean) {
      if (t.value !== undefined) throw new UsageError(`${shown} takes no value (was ${JSON.stringify(t.value)})`);
      flags.set(t.name, true);
      continue;
    }
    const value = t.value;
    if (value === undefined || (!t.inlineValue && value.startsWith("--") && value.length > 2)) {
      throw new UsageError(`${shown} needs a value${spec.value ? ` (${spec.value})` : ""}`);
    }
    flags.set(t.name, value);
  }
  return { flags, positional };
}

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1 << 20, mb: 1 << 20, mib: 1 << 20 };

/** The text of flag `--<flag>` and the range it must be in. */
export interface FlagValue {
  text: string;
  min: number;
  max: number;
}

/** Parses a byte size: `65536`, `64k`, `16MiB`. */
export function parseSize(flag: string, value: FlagValue): number {
  const { text, min, max } = value;
  const m = /^(\d+)\s*([a-zA-Z]*)$/.exec(text.trim());
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`--${flag} must be a size such as 65536, 64KiB or 16MiB (was ${JSON.stringify(text)})`);
  const n = Number(m[1]) * unit;
  if (n < min || n > max) throw new UsageError(`--${flag} must be from ${min} to ${max} bytes (was ${text})`);
  return n;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration: `600000` (ms), `500ms`, `30s`, `10m`, `1h`, `7d`. */
export function parseDuration(flag: string, value: FlagValue): number {
  const { text, min, max } = value;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--${flag} must be a duration such as 500ms, 30s, 10m or 7d (was ${JSON.stringify(text)})`);
  const n = Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? "ms"]);
  if (n < min || n > max) throw new UsageError(`--${flag} must be from ${min} ms to ${max} ms (was ${text})`);
  return n;
}

/** Parses one of a fixed set of words. */
export function parseChoice<T extends string>(flag: string, value: { text: string; choices: readonly T[] }): T {
  const { text, choices } = value;
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`--${flag} must be one of ${choices.join(", ")} (was ${JSON.stringify(text)})`);
  }
  return text as T;
}

/** Parses a whole number in a range. */
export function parseCount(flag: string, value: FlagValue): number {
  const { text, min, max } = value;
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`--${flag} must be a whole number (was ${JSON.stringify(text)})`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`--${flag} must be from ${min} to ${max} (was ${text})`);
  return n;
}
