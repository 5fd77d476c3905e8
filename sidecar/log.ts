/**
 * ampd's logger: one line per event on stderr, with a level filter, as text
 * (`2026-01-31T12:00:00.000Z ampd INFO  http: ...`) or as JSON, one object a
 * line (`--log-format json`):
 *
 * ```json
 * {"time":"2026-01-31T12:00:00.000Z","level":"warn","component":"session","message":"client 7 (coder, unix socket): ...","client":7}
 * ```
 *
 * `component` says which part of ampd speaks (`ampd`, `backend`, `http`,
 * `session`, `subscription`, `keyring`); it is given by the caller or
 * read off the message's usual opening (`http: ...`, `client 7 ...`).
 *
 * @module
 */

/** Log levels, most severe first. */
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
/** A log level. */
export type LogLevel = typeof LOG_LEVELS[number];
/** The forms a log line can take. */
export const LOG_FORMATS = ["text", "json"] as const;
/** A log line's form. */
export type LogFormat = typeof LOG_FORMATS[number];

/** Extra fields of one event (JSON lines only; `component` names the part of ampd speaking). */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** Where lines go: stderr by default. */
export type LogSink = (line: string) => void;

// The openings of ampd's messages that name who speaks: "http: ...", "backend redis: ...", "client 7 (...)", "subscription 3: ...".
const OPENING = /^(?:(http|SIGHUP|keyring):|backend (\w+):|(client|subscription) (\d+)\b)/;

/** The component and fields a message's opening names; `ampd` when it names none. */
export function componentOf(msg: string): { component: string; fields?: LogFields } {
  const m = OPENING.exec(msg);
  if (m === null) return { component: "ampd" };
  if (m[1] !== undefined) return { component: m[1] === "SIGHUP" ? "keyring" : m[1] };
  if (m[2] !== undefined) return { component: "backend", fields: { backend: m[2] } };
  return m[3] === "client" ? { component: "session", fields: { client: Number(m[4]) } } : { component: "subscription", fields: { subscription: Number(m[4]) } };
}

/** Options of `Logger`. */
export interface LoggerOptions {
  /** Least severe level written. Defaults to `info`. */
  level?: LogLevel;
  /** `text` or `json`. Defaults to `text`. */
  format?: LogFormat;
  /** Where lines go. Defaults to stderr. */
  sink?: LogSink;
}

/**
 * Writes leveled log lines to stderr.
 *
 * @example
 * ```ts
 * const log = new Logger({ level: "info", format: "json" });
 * log.warn("backend redis: reconnecting"); // component "backend", backend "redis"
 * log.info("scrape served", { component: "http", bytes: 5120 });
 * ```
 */
export class Logger {
  readonly level: LogLevel;
  readonly format: LogFormat;
  #max: number;
  #sink: LogSink;
  constructor(options: LogLevel | LoggerOptions = {}) {
    const o = typeof options === "string" ? { level: options } : options;
    this.level = o.level ?? "info";
    this.format = o.format ?? "text";
    this.#max = LOG_LEVELS.indexOf(this.level);
    this.#sink = o.sink ?? ((line) => console.error(line));
  }
  #write(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    if (LOG_LEVELS.indexOf(level) > this.#max) return;
    const time = new Date().toISOString();
    if (this.format === "text") return this.#sink(`${time} ampd ${level.toUpperCase().padEnd(5)} ${msg}`);
    const read = componentOf(msg);
    const line: Record<string, unknown> = { time, level, component: fields?.component ?? read.component, message: msg };
    for (const [k, v] of Object.entries({ ...read.fields, ...fields })) {
      if (v !== undefined && k !== "component" && !(k in line)) line[k] = v;
    }
    this.#sink(JSON.stringify(line));
  }
  error(msg: string, fields?: LogFields): void {
    this.#write("error", msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.#write("warn", msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.#write("info", msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    this.#write("debug", msg, fields);
  }
}
