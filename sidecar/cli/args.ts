/**
 * Flag parsing for ampd: `--name value` or `--name=value`, with typed values
 * and errors that name the flag and the value. A bad flag is exit code 2.
 *
 * @module
 */

/** A flag the user got wrong. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The kind of value a flag takes. */
export interface FlagSpec {
  /** `true` for a flag that takes no value. */
  boolean?: boolean;
  /** Short alias, without the dash: `h` for `-h`. */
  short?: string;
}

/** Parsed command line: flag values by name, and the remaining positional arguments. */
export interface ParsedArgs {
  flags: Map<string, string | true>;
  positional: string[];
}

/** Parses `argv` against the known flags; an unknown flag is a `UsageError`. */
export function parseArgs(argv: readonly string[], specs: Record<string, FlagSpec>): ParsedArgs {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  const byShort = new Map(Object.entries(specs).filter(([, s]) => s.short).map(([n, s]) => [s.short!, n]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let value: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (eq >= 0) value = arg.slice(eq + 1);
    } else if (arg.startsWith("-") && arg.length === 2) {
      name = byShort.get(arg[1]);
      if (name === undefined) throw new UsageError(`unknown flag ${arg}`);
    } else {
      positional.push(arg);
      continue;
    }
    const spec = specs[name];
    if (spec === undefined) {
      const close = Object.keys(specs).find((k) => k.startsWith(name!.slice(0, 3)));
      throw new UsageError(`unknown flag --${name}${close ? ` (did you mean --${close}?)` : ""}`);
    }
    if (spec.boolean) {
      if (value !== undefined) throw new UsageError(`--${name} takes no value`);
      flags.set(name, true);
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length || (argv[i + 1].startsWith("--") && argv[i + 1].length > 2)) {
        throw new UsageError(`--${name} needs a value`);
      }
      value = argv[++i];
    }
    flags.set(name, value);
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

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration: `600000` (ms), `500ms`, `30s`, `10m`, `1h`. */
export function parseDuration(flag: string, value: FlagValue): number {
  const { text, min, max } = value;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--${flag} must be a duration such as 500ms, 30s or 10m (was ${JSON.stringify(text)})`);
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
