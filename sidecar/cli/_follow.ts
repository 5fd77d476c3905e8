/**
 * What the commands that run until interrupted share (`ampd tail`, `ampd
 * reply`): `--count` as the number of messages to stop after,
 * `--reconnect-for`, and stopping on SIGINT or SIGTERM.
 *
 * @module
 */
import { parseCount, parseDuration, type ParsedArgs } from "./args.ts";

/** `--count N`: how many messages to handle before exiting; `Infinity` without it. */
export function countLimitOf(args: ParsedArgs): number {
  const text = args.flags.get("count") as string | undefined;
  return text === undefined ? Infinity : parseCount("count", { text, min: 1, max: Number.MAX_SAFE_INTEGER });
}

/** `--reconnect-for DUR`: how long to try to reach ampd again after it went away, in ms. Defaults to 10m. */
export function reconnectForOf(args: ParsedArgs): number {
  const text = (args.flags.get("reconnect-for") as string | undefined) ?? "10m";
  return parseDuration("reconnect-for", { text, min: 100, max: 7 * 24 * 3_600_000 });
}

/** Calls `stop` on the first SIGINT or SIGTERM; the function returned stops listening. */
export function onInterrupt(stop: () => void): () => void {
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return () => {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  };
}
