/**
 * ampd's logger: one line per event on stderr, with a level filter.
 *
 * @module
 */

/** Log levels, most severe first. */
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
/** A log level. */
export type LogLevel = typeof LOG_LEVELS[number];

/** Writes leveled log lines to stderr. */
export class Logger {
  readonly level: LogLevel;
  #max: number;
  constructor(level: LogLevel = "info") {
    this.level = level;
    this.#max = LOG_LEVELS.indexOf(level);
  }
  #write(level: LogLevel, msg: string): void {
    if (LOG_LEVELS.indexOf(level) > this.#max) return;
    console.error(`${new Date().toISOString()} ampd ${level.toUpperCase().padEnd(5)} ${msg}`);
  }
  error(msg: string): void {
    this.#write("error", msg);
  }
  warn(msg: string): void {
    this.#write("warn", msg);
  }
  info(msg: string): void {
    this.#write("info", msg);
  }
  debug(msg: string): void {
    this.#write("debug", msg);
  }
}
