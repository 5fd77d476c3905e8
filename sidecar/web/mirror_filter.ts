/**
 * Filters of the live mirror: which added messages a watcher is sent.
 * A filter names up to five fields (stream, sender, receiver, type, tier),
 * each with one or more patterns; a message passes when every named field
 * matches one of its patterns. A pattern is an exact value, or a prefix
 * followed by `*` (`inbox.*`). A dead letter passes a stream pattern that
 * matches its own stream (`tasks.dlq`) or the stream its original came from
 * (`tasks`): watching a stream shows its dead letters.
 *
 * @module
 */
import { AmpbusError, type Issue } from "../../sdk/errors.ts";

/** The fields a mirror filter may name. */
export const FILTER_FIELDS = ["stream", "sender", "receiver", "type", "tier"] as const;
/** A field a mirror filter may name. */
export type FilterField = typeof FILTER_FIELDS[number];

/**
 * A mirror filter: field → patterns. Absent fields match everything.
 *
 * @example
 * ```ts
 * const f: MirrorFilter = { stream: ["inbox.*"], tier: ["gold", "platinum"] };
 * ```
 */
export type MirrorFilter = Partial<Record<FilterField, string[]>>;

/** Most patterns per field: 64. */
export const MAX_PATTERNS = 64;
/** Longest pattern: 256 characters. */
export const MAX_PATTERN_LENGTH = 256;

/** A filter could not be read; `issues` lists every problem with its field. */
export class FilterError extends AmpbusError {
  readonly issues: Issue[];
  constructor(issues: Issue[]) {
    super("BAD_FILTER", `bad mirror filter: ${issues.map((i) => i.message).join("; ")}`);
    this.name = "FilterError";
    this.issues = issues;
  }
}

function patterns(field: string, value: unknown, issues: Issue[]): string[] | undefined {
  let list: unknown[];
  if (typeof value === "string") list = value.split(",");
  else if (Array.isArray(value)) list = value;
  else {
    issues.push({ path: [field], message: `${field} must be a string or an array of strings (was ${typeof value})` });
    return undefined;
  }
  const out: string[] = [];
  list.forEach((p, i) => {
    if (typeof p !== "string") {
      issues.push({ path: [field, i], message: `${field}[${i}] must be a string (was ${typeof p})` });
      return;
    }
    const t = p.trim();
    if (t.length > MAX_PATTERN_LENGTH) {
      issues.push({ path: [field, i], message: `${field}[${i}] is longer than ${MAX_PATTERN_LENGTH} characters` });
    } else if (t !== "") out.push(t);
  });
  if (out.length > MAX_PATTERNS) issues.push({ path: [field], message: `${field} has ${out.length} patterns; at most ${MAX_PATTERNS}` });
  return out.length > 0 ? out : undefined;
}

/**
 * Reads a filter from a JSON value (`{stream: "a,b", tier: ["gold"]}`);
 * empty values are dropped. Throws `FilterError` listing every problem.
 *
 * @example
 * ```ts
 * parseFilter({ stream: "inbox.*", sender: ["coder", "planner"] });
 * ```
 */
export function parseFilter(input: unknown): MirrorFilter {
  if (input === undefined || input === null) return {};
  if (typeof input !== "object" || Array.isArray(input)) {
    throw new FilterError([{ path: [], message: `the filter must be an object (was ${Array.isArray(input) ? "array" : typeof input})` }]);
  }
  const issues: Issue[] = [];
  const out: MirrorFilter = {};
  for (const key of Object.keys(input)) {
    if (!(FILTER_FIELDS as readonly string[]).includes(key)) {
      issues.push({ path: [key], message: `unknown filter field ${JSON.stringify(key)}; known: ${FILTER_FIELDS.join(", ")}` });
      continue;
    }
    const p = patterns(key, (input as Record<string, unknown>)[key], issues);
    if (p !== undefined) out[key as FilterField] = p;
  }
  if (issues.length > 0) throw new FilterError(issues);
  return out;
}

/**
 * Reads a filter from a URL query (`?stream=inbox.*&tier=gold,platinum`);
 * other parameters (such as `token`) are ignored.
 */
export function filterFromQuery(params: URLSearchParams): MirrorFilter {
  const raw: Record<string, string> = {};
  for (const f of FILTER_FIELDS) {
    const all = params.getAll(f);
    if (all.length > 0) raw[f] = all.join(",");
  }
  return parseFilter(raw);
}

/** The header fields a filter looks at. */
export interface FilterSubject {
  stream: string;
  /** For a dead letter: the stream its original message came from (`tasks` for `tasks.dlq`). */
  origin?: string;
  sender: string;
  receiver: string;
  type: string;
  tier?: string;
}

interface FieldMatcher {
  exact: Set<string>;
  prefixes: string[];
}

function fieldMatches(m: FieldMatcher, v: string): boolean {
  if (m.exact.has(v)) return true;
  for (const p of m.prefixes) if (v.startsWith(p)) return true;
  return false;
}

/** A filter compiled for fast matching. */
export class FilterMatcher {
  readonly filter: MirrorFilter;
  readonly #fields: [FilterField, FieldMatcher][] = [];

  constructor(filter: MirrorFilter) {
    this.filter = filter;
    for (const f of FILTER_FIELDS) {
      const list = filter[f];
      if (list === undefined) continue;
      const m: FieldMatcher = { exact: new Set(), prefixes: [] };
      for (const p of list) {
        if (p.endsWith("*")) m.prefixes.push(p.slice(0, -1));
        else m.exact.add(p);
      }
      this.#fields.push([f, m]);
    }
  }

  /** True when the message passes the filter. */
  matches(s: FilterSubject): boolean {
    for (const [field, m] of this.#fields) {
      const v = s[field];
      if (v === undefined) return false; // a tier filter never passes a message without a tier
      if (fieldMatches(m, v)) continue;
      if (field === "stream" && s.origin !== undefined && fieldMatches(m, s.origin)) continue;
      return false;
    }
    return true;
  }
}
