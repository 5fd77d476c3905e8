/**
 * The address of ampd's HTTP server (`--http`), kept apart from the server
 * itself so that reading the flags loads nothing of it.
 *
 * @module
 */
import { UsageError } from "../cli/args.ts";

/** Where the HTTP server listens. */
export interface HttpAddress {
  host: string;
  port: number;
}

/**
 * Reads `--http`: `HOST:PORT`, `[IPv6]:PORT`, or a bare `PORT` (on 127.0.0.1).
 * Port 0 picks a free port. Throws `UsageError`.
 *
 * @example
 * ```ts
 * parseHttpAddress("127.0.0.1:8080"); // { host: "127.0.0.1", port: 8080 }
 * ```
 */
export function parseHttpAddress(text: string): HttpAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s\[\]]+))?:?(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535) || (m[1] === undefined && m[2] === undefined && text.includes(":") && !text.startsWith(":"))) {
    throw new UsageError(`--http must be HOST:PORT, such as 127.0.0.1:8080 (was ${JSON.stringify(text)})`);
  }
  return { host: m[1] ?? m[2] ?? "127.0.0.1", port };
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
