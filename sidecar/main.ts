#!/usr/bin/env bun
/**
 * ampd: the ampbus sidecar. Owns the store (a SQLite file by default, Redis
 * Streams when a Redis is named, or in-memory streams for throwaway runs) and
 * serves agents in any language over a Unix socket. `ampd --help` lists the
 * flags.
 *
 * @module
 */
import { describeTrust, loadTrust, reloadKeyring } from "./keyring_file.ts";
import type { TrustPolicy } from "../sdk/trust/policy.ts";
import pkg from "../package.json" with { type: "json" };
import type { StreamBackend } from "../sdk/backend/types.ts";
import { RetentionSweeper } from "../sdk/backend/retention.ts";
import { UsageError } from "./cli/args.ts";
import { Logger } from "./log.ts";
import { listenSocket, SocketInUseError } from "./server.ts";
import { isLoopback } from "./web/address.ts";
import type { HttpServer } from "./web/http.ts";
import { ServerState } from "./server_state.ts";
import { findCommand } from "./cli/commands.ts";
import { DAEMON_HELP } from "./daemon_help.ts";
import { DAEMON_FLAGS, daemonOptions, type DaemonOptions } from "./daemon_options.ts";
import { openBackend } from "./open_backend.ts";

export { daemonOptions, type DaemonOptions };

/** Runs the daemon until SIGINT/SIGTERM. Returns the exit code. */
export async function runDaemon(o: DaemonOptions): Promise<number> {
  const started = performance.now();
  const log = new Logger({ level: o.logLevel, format: o.logFormat });
  let trust: TrustPolicy;
  try {
    trust = loadTrust(o.trust);
  } catch (e) {
    log.error(`cannot start: --keyring ${o.trust.keyringPath}: ${(e as Error).message}`);
    return 1;
  }
  let backend: StreamBackend;
  try {
    backend = await openBackend(o, log);
  } catch (e) {
    log.error(`cannot start: ${(e as Error).message}`);
    return 1;
  }
  backend.onStateChange((s) => {
    if (s === "ready") return log.info(`backend ${backend.kind}: ready`);
    if (s === "closed") return log.info(`backend ${backend.kind}: closed`);
    const why = backend.backendInfo().lastError;
    if (s === "degraded") log.error(`backend ${backend.kind}: degraded: ${why ?? "?"}`);
    else log.warn(`backend ${backend.kind}: ${s}${why && s === "reconnecting" ? ` (${why})` : ""}`);
  });
  const state = new ServerState({
    maxFrame: o.maxFrame,
    token: o.token,
    version: pkg.version,
    helloTimeoutMs: o.helloTimeoutMs,
    frameTimeoutMs: o.frameTimeoutMs,
    partialBudget: o.partialBudget,
    trust,
    delivery: { claimTimeoutMs: o.claimTimeoutMs, maxDeliveries: o.maxDeliveries },
  }, backend, log);
  let server;
  try {
    server = await listenSocket(state, { path: o.socket, mode: o.socketMode });
  } catch (e) {
    log.error(`cannot start: ${(e as Error).message}`);
    await backend.close();
    return e instanceof SocketInUseError ? 1 : 1;
  }
  let http: HttpServer | undefined;
  if (o.http) {
    const [{ listenHttp }, { Mirror }] = await Promise.all([import("./web/http.ts"), import("./web/mirror.ts")]);
    const mirror = new Mirror({ maxFrame: o.maxFrame });
    state.onAdded = (added) => mirror.publish(added);
    try {
      http = listenHttp(state, { ...o.http, mirror, allowHosts: o.httpAllowHosts, allowOrigins: o.httpAllowOrigins });
    } catch (e) {
      log.error(`cannot start: --http ${o.http.host}:${o.http.port}: ${(e as Error).message}`);
      await server.shutdown(0);
      await backend.close();
      return 1;
    }
    if (!isLoopback(o.http.host)) {
      const who = trust.authRequired
        ? "every connection must prove an agent's key (the live view: an admin's)"
        : `anyone who can connect may watch${o.token ? "" : " and publish (no --token)"}`;
      log.warn(`--http ${o.http.host} is reachable from other machines: ${who}`);
    }
    log.info(`live view at ${http.url}/`);
    console.log(`ampd http ${http.url}`);
  }
  const trustLine = describeTrust(trust, o.trust);
  if (trustLine !== "") log.info(trustLine);
  state.retention = o.retention;
  const retention = new RetentionSweeper(backend, { defaults: o.retention, onError: (e) => log.debug(`retention sweep: ${(e as Error).message}`) });
  log.info(`retention: ${o.retention.maxAgeMs === undefined ? "keeping every entry" : `entries older than ${o.retention.maxAgeMs % 86_400_000 === 0 ? `${o.retention.maxAgeMs / 86_400_000} d` : `${o.retention.maxAgeMs / 1000} s`} go`} (policy ${o.retention.policy}) unless a stream has its own`);
  process.on("SIGHUP", () => void reloadKeyring(state, { flags: o.trust, log }));
  const ms = (performance.now() - started).toFixed(1);
  log.info(`ready in ${ms} ms: listening on ${o.socket} (backend ${backend.kind}${o.token ? ", token required" : ""})`);
  console.log(`ampd ready ${o.socket}`);

  const { promise, resolve: done } = Promise.withResolvers<number>();
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: finishing in-flight requests and shutting down`);
    retention.stop();
    await server.shutdown();
    await http?.shutdown();
    await backend.close();
    log.info("stopped");
    done(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  return await promise;
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const command = argv[0] === undefined ? undefined : findCommand(argv[0]);
  if (command !== undefined) process.exit(await command.run(argv.slice(1), { daemonFlags: DAEMON_FLAGS }));
  if (argv[0] === "serve") argv.shift();
  let opts;
  try {
    opts = daemonOptions(argv, process.env);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`ampd: ${e.message}\nRun 'ampd --help' for the flags.`);
      process.exit(2);
    }
    throw e;
  }
  if (opts === "help") {
    console.log(DAEMON_HELP);
    process.exit(0);
  }
  if (opts === "version") {
    console.log(`ampd ${pkg.version}`);
    process.exit(0);
  }
  process.exit(await runDaemon(opts));
}