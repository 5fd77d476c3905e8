#!/usr/bin/env bun
/**
 * ampd: the ampbus sidecar. Owns the store (a SQLite file by default, Redis
 * Streams when a Redis is named, or in-memory streams for throwaway runs) and
 * serves agents in any language over a Unix socket. `ampd --help` lists the
 * flags.
 *
 * @module
 */
import { describeTrust, loadTrust, reloadKeyring, type TrustFlags, trustFlags } from "./keyring_file.ts";
import type { TrustPolicy } from "../sdk/trust/policy.ts";
import { resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { DEFAULT_MAX_FRAME } from "../sdk/transport/frame.ts";
import { MemoryBackend } from "../sdk/backend/memory.ts";
import { BackendUnavailableError, DEFAULT_DEDUPE_WINDOW_MS, DEFAULT_RETENTION, type Retention, type StreamBackend } from "../sdk/backend/types.ts";
import { RetentionSweeper } from "../sdk/backend/retention.ts";
import { parseArgs, parseChoice, parseCount, parseDuration, parseSize, UsageError } from "./cli/args.ts";
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, Logger, type LogLevel } from "./log.ts";
import { listenSocket, SocketInUseError } from "./server.ts";
import { type HttpAddress, isLoopback, parseHttpAddress } from "./web/address.ts";
import type { HttpServer } from "./web/http.ts";
import { ServerState } from "./server_state.ts";
import { commandsHelp, findCommand, unknownCommand } from "./cli/commands.ts";

const HELP = `ampd ${pkg.version}: the ampbus sidecar

Serves the ampbus protocol (length-prefixed MessagePack, docs/protocol.md) on a
Unix socket. Messages are kept in a SQLite file (default), in Redis Streams, or
in memory.

Usage:
  ampd [serve] [flags]      run the daemon
  ampd COMMAND [flags]      talk to a running ampd ('ampd COMMAND --help')

Commands:
${commandsHelp()}

Flags:
  --socket PATH           Unix socket to listen on. Default: ./ampd.sock
  --socket-mode MODE      Octal file mode of the socket. Default: 600
  --redis URL             Redis to use (also REDIS_URL). Example: redis://127.0.0.1:6379
                          A Redis Cluster node is detected and used as the
                          cluster's seed; several URLs, comma-separated, are
                          the seeds of a cluster
  --redis-cluster URLS    Seed nodes of a Redis Cluster, comma-separated: ampd
                          speaks the cluster protocol from the start (docs/scaling.md).
                          Example: redis://10.0.0.1:7000,redis://10.0.0.2:7000
  --redis-wait N          Acknowledge an add only once N replicas have it (WAIT):
                          an acknowledged add survives the failover of its
                          master. Costs a replication round trip per batch.
                          Default: 0 (acknowledged when the master has it)
  --redis-wait-timeout DUR  With --redis-wait: an add the replicas did not
                          confirm by then fails with BACKEND_TIMEOUT (it is
                          stored; retry with the same opId). Default: 1s
  --backend KIND          sqlite, redis, memory or auto. Default: auto (Redis if
                          a URL is given, else sqlite). memory keeps nothing:
                          every message is lost when ampd exits
  --data PATH             sqlite: the store's file, created when missing.
                          Default: ./ampd.db
  --sync MODE             sqlite: full or normal. full fsyncs every write before
                          it is answered (adds arriving together share one
                          fsync); normal may lose the last moments of writes on
                          power loss (never on a crash of ampd alone) and never
                          corrupts the store. Default: full
  --max-size SIZE         sqlite: the largest the store's file may grow to; past
                          it adds fail with STORAGE_FULL (reads go on).
                          Default: no limit but the disk's
  --retain DUR            Default retention of every stream, on every backend:
                          entries older than DUR (by entry id time) go, unless
                          a consumer group still needs them (see
                          --retention-policy); swept every DUR/10, 1s to 10s.
                          'none' keeps everything. A stream's own retention
                          ('ampd stream retention') wins. Default: 7d
  --retention-policy P    interest or limits. interest keeps every entry a
                          consumer group still needs (pending in it, or not yet
                          delivered to it), whatever its age; limits removes
                          by age alone. Removed entries are counted per stream
                          ('ampd stats'). Default: interest
  --connect-timeout DUR   How long ampd waits (retrying) for the Redis named by
                          --redis at start-up before it exits 1. Default: 10s
  --fallback MODE         none or memory: what ampd does when the Redis it was
                          given is unreachable at start-up. none exits 1; memory
                          serves in-memory streams (not shared with other
                          sidecars). Default: none
  --command-timeout DUR   A Redis command (add, read, group operation) not
                          answered by then fails with BACKEND_TIMEOUT and the
                          backend shows as degraded. 0 turns it off. Default: 5s
  --allow-eviction        Serve even when Redis's maxmemory-policy is not
                          noeviction (Redis may then delete stored messages).
                          Default: off (ampd refuses to start, and refuses adds
                          with BACKEND_MISCONFIGURED after a reconnection)
  --prefix PREFIX         Prefix of Redis keys. Default: ampbus:
  --max-frame SIZE        Largest frame accepted. Default: 16MiB
  --dedupe-window DUR     How long an opId is remembered per stream. Default: 10m
  --claim-timeout DUR     Consumer groups: pending longer than this is redelivered
                          to a live consumer. Default: 30s
  --max-deliveries N      Consumer groups: deliveries after which an entry moves to
                          the dead-letter stream <stream>.dlq. Default: 5
  --token TOKEN           Require this token in hello (also AMPD_TOKEN). A wrong
                          token closes the connection
  --keyring PATH          Agents, their keys and permissions (JSON, see
                          docs/security.md); every connection must then
                          authenticate as one of them. Reloaded on SIGHUP (a bad
                          file is refused and the loaded one kept)
  --require-sig           Refuse adds whose signature does not verify with a key
                          of their sender (BAD_SIGNATURE). Needs --keyring
  --min-tier RULES        Least tier per stream, PATTERN=TIER comma-separated,
                          such as 'inbox.*=silver,tasks.>=gold' (TIER_TOO_LOW)
  --require-snap-sha PATTERNS
                          Streams (comma-separated patterns, '>' for all) whose
                          messages must carry snapSha
  --spec-syntax RULES     PATTERN=reject comma-separated, such as 'inbox.*=reject':
                          on those streams a spec whose statements do not parse
                          as AISP is refused (INVALID_MESSAGE, line and column)
  --hello-timeout DUR     Close a connection with no good hello (and auth) by
                          then. Default: 5s
  --frame-timeout DUR     A frame must arrive whole this long after its first
                          byte. Default: 10s
  --partial-budget SIZE   Memory all connections together may hold for frames not
                          yet whole; past it the connection asking for more is
                          closed (LIMIT_EXCEEDED). Default: 256MiB
  --http HOST:PORT        Also serve the live view (a web page), the WebSocket
                          mirror of added messages and the protocol over
                          WebSocket (docs/live-view.md), and GET /healthz
                          (live), /readyz (the backend answers and is not
                          degraded; else 503) and /metrics (Prometheus text
                          format; needs the token with --token), documented in
                          docs/operations.md. Off by default. Use a loopback
                          address unless others must reach it
  --http-allow-host NAMES Host names (comma-separated) besides loopback names and
                          the listening address that HTTP requests may name in
                          Host (stops DNS rebinding). Default: none
  --http-allow-origin ORIGINS
                          Origins (comma-separated, https://app.example:3000)
                          whose pages may open WebSockets, besides ampd's own
                          page. Default: none
  --log-level LEVEL       error, warn, info or debug. Default: info
  --log-format FORMAT     text or json. json: one object a line on stderr, with
                          time, level, component and message (and fields such
                          as client). Default: text
  -h, --help              Show this help
  -V, --version           Print the version

Health and metrics (with --http; docs/operations.md lists every metric):
  GET /healthz            200 {"status":"live",...} while ampd serves
  GET /readyz             200 {"status":"ready",...} when the backend answers and
                          is not degraded; else 503 {"status":"not ready",
                          "reasons":[...]}
  GET /metrics            Prometheus text format (with --token: Authorization:
                          Bearer TOKEN). Counters: ampbus_adds_total,
                          ampbus_duplicates_total, ampbus_deliveries_total,
                          ampbus_acks_total, ampbus_nacks_total,
                          ampbus_claims_total, ampbus_dead_letters_total,
                          ampbus_expired_total, ampbus_stream_removed_total
                          {stream,cause}. Gauges: ampbus_connections,
                          ampbus_outbox_bytes, ampbus_stream_length{stream},
                          ampbus_group_pending{stream,group},
                          ampbus_group_lag{stream,group}. Histograms:
                          ampbus_backend_add_seconds (and _ack_, _nack_)

Examples:
  ampd                                   ./ampd.db on ./ampd.sock
  ampd --data /var/lib/ampbus/ampd.db --retain 7d
  ampd --backend memory                  throwaway: nothing is kept
  REDIS_URL=redis://127.0.0.1:6379 ampd  Redis Streams
  ampd --socket /run/ampbus/ampd.sock --backend redis --redis redis://db:6379
  ampd --redis-cluster redis://10.0.0.1:7000,redis://10.0.0.2:7000 --redis-wait 1
  ampd --http 127.0.0.1:8080             and watch the bus at http://127.0.0.1:8080/
  ampd --http 127.0.0.1:9464 --log-format json
                                         JSON logs; scrape http://127.0.0.1:9464/metrics

Exit codes: 0 clean shutdown (SIGINT/SIGTERM), 1 start-up failure, 2 bad flags
(an unknown flag or command names the closest one: 'ampd stast' -> stats).
Commands: 0 ok, 1 failure (ampd unreachable, a request refused, or what was
named not found), 2 bad usage, 3 timed out ('ampd COMMAND --help' says which).
Shell completion: 'ampd completion bash' or 'ampd completion zsh' (docs/operations.md).
`;

const FLAGS = {
  socket: {},
  "socket-mode": {},
  redis: {},
  "redis-cluster": {},
  "redis-wait": {},
  "redis-wait-timeout": {},
  backend: {},
  data: {},
  sync: {},
  retain: {},
  "retention-policy": {},
  "max-size": {},
  "connect-timeout": {},
  fallback: {},
  "command-timeout": {},
  "allow-eviction": { boolean: true },
  prefix: {},
  "max-frame": {},
  "dedupe-window": {},
  "claim-timeout": {},
  "max-deliveries": {},
  token: {},
  keyring: {},
  "require-sig": { boolean: true },
  "min-tier": {},
  "require-snap-sha": {},
  "spec-syntax": {},
  "hello-timeout": {},
  "frame-timeout": {},
  "partial-budget": {},
  http: {},
  "http-allow-host": {},
  "http-allow-origin": {},
  "log-level": {},
  "log-format": {},
  help: { boolean: true, short: "h" },
  version: { boolean: true, short: "V" },
};

/** ampd's settings after flags and environment. */
export interface DaemonOptions {
  socket: string;
  socketMode: number;
  redisUrl?: string;
  /** Seed nodes of a Redis Cluster (`--redis-cluster`, or several URLs). */
  clusterNodes?: string[];
  /** Replicas an add must reach before it is acknowledged (`--redis-wait`). */
  redisWait: number;
  /** How long an add waits for them, in ms. */
  redisWaitTimeoutMs: number;
  backend: "sqlite" | "redis" | "memory" | "auto";
  /** The SQLite store's file (absolute), on the sqlite backend. */
  dataPath: string;
  sync: "full" | "normal";
  /** The retention of streams without their own (`--retain`, `--retention-policy`). */
  retention: Retention;
  /** sqlite: the file's size limit in bytes; absent for none. */
  maxSizeBytes?: number;
  connectTimeoutMs: number;
  /** What to do when the named Redis is unreachable at start-up. */
  fallback: "none" | "memory";
  /** Redis command timeout in ms; 0 for none. */
  commandTimeoutMs: number;
  /** Serve on a Redis whose maxmemory-policy is not noeviction. */
  allowEviction: boolean;
  prefix: string;
  maxFrame: number;
  dedupeWindowMs: number;
  claimTimeoutMs: number;
  maxDeliveries: number;
  token?: string;
  /** --keyring, --require-sig, --min-tier, --require-snap-sha, --spec-syntax. */
  trust: TrustFlags;
  helloTimeoutMs: number;
  frameTimeoutMs: number;
  partialBudget: number;
  /** Where to serve the live view and WebSockets; off when absent. */
  http?: HttpAddress;
  httpAllowHosts: string[];
  httpAllowOrigins: string[];
  logLevel: LogLevel;
  /** `--log-format`: text or json lines. */
  logFormat: LogFormat;
}

/** Reads flags and environment into options; throws `UsageError` on a bad value. */
export function daemonOptions(argv: readonly string[], env: Record<string, string | undefined>): DaemonOptions | "help" | "version" {
  const { flags, positional } = parseArgs(argv, FLAGS);
  if (flags.has("help")) return "help";
  if (flags.has("version")) return "version";
  if (positional.length > 0) throw new UsageError(argv[0] === positional[0] ? unknownCommand(positional[0]) : `unexpected argument ${JSON.stringify(positional[0])}`);
  const get = (k: string) => flags.get(k) as string | undefined;
  const modeText = get("socket-mode") ?? "600";
  if (!/^0?[0-7]{3}$/.test(modeText)) throw new UsageError(`--socket-mode must be an octal mode such as 600 or 660 (was ${JSON.stringify(modeText)})`);
  const clusterFlag = get("redis-cluster");
  if (clusterFlag !== undefined && get("redis") !== undefined) throw new UsageError("give either --redis or --redis-cluster, not both");
  const redisFlag = clusterFlag ?? get("redis") ?? (env.REDIS_URL || undefined);
  const redisUrls = redisFlag === undefined ? undefined : redisFlag.split(",").map((u) => u.trim()).filter((u) => u !== "");
  const flagName = clusterFlag !== undefined ? "--redis-cluster" : get("redis") !== undefined ? "--redis" : "REDIS_URL";
  if (redisUrls !== undefined) {
    if (redisUrls.length === 0) throw new UsageError(`${flagName} must name at least one redis:// URL`);
    for (const u of redisUrls) {
      if (!/^rediss?:\/\//.test(u)) throw new UsageError(`${flagName} must be redis:// or rediss:// URLs (was ${JSON.stringify(u)})`);
    }
  }
  const redisUrl = redisUrls?.[0];
  const clusterNodes = redisUrls !== undefined && (clusterFlag !== undefined || redisUrls.length > 1) ? redisUrls : undefined;
  const waitText = get("redis-wait") ?? "0";
  if (!/^\d{1,2}$/.test(waitText)) throw new UsageError(`--redis-wait must be a number of replicas from 0 to 64 (was ${JSON.stringify(waitText)})`);
  const redisWait = Number(waitText);
  if (redisWait > 64) throw new UsageError(`--redis-wait must be a number of replicas from 0 to 64 (was ${redisWait})`);
  const backend = parseChoice("backend", { text: get("backend") ?? "auto", choices: ["sqlite", "redis", "memory", "auto"] as const });
  const data = get("data") ?? "./ampd.db";
  if (data === "") throw new UsageError("--data must not be empty");
  const sqliteOnly = ["data", "sync", "max-size"].filter((f) => flags.has(f));
  const sqlite = backend === "sqlite" || (backend === "auto" && redisUrl === undefined);
  if (!sqlite && sqliteOnly.length > 0) {
    throw new UsageError(`--${sqliteOnly[0]} applies to the sqlite backend only (the backend is ${backend === "auto" ? "redis, as a Redis URL is given" : backend})`);
  }
  if (backend === "redis" && redisUrl === undefined) throw new UsageError("--backend redis needs --redis URL or REDIS_URL");
  const fallback = parseChoice("fallback", { text: get("fallback") ?? "none", choices: ["none", "memory"] as const });
  if (backend === "redis" && fallback === "memory") throw new UsageError("--fallback memory contradicts --backend redis (use --backend auto)");
  const prefix = get("prefix") ?? "ampbus:";
  if (!/^[^\s{}]{0,64}$/.test(prefix)) throw new UsageError(`--prefix must be up to 64 characters without spaces or braces (was ${JSON.stringify(prefix)})`);
  const socket = get("socket") ?? "./ampd.sock";
  if (socket === "") throw new UsageError("--socket must not be empty");
  const token = get("token") ?? (env.AMPD_TOKEN || undefined);
  return {
    socket: resolve(socket),
    socketMode: parseInt(modeText, 8),
    redisUrl,
    clusterNodes,
    redisWait,
    redisWaitTimeoutMs: parseDuration("redis-wait-timeout", { text: get("redis-wait-timeout") ?? "1s", min: 1, max: 3_600_000 }),
    backend,
    dataPath: resolve(data),
    sync: parseChoice("sync", { text: get("sync") ?? "full", choices: ["full", "normal"] as const }),
    retention: retentionOf(get("retain"), get("retention-policy")),
    maxSizeBytes: get("max-size") === undefined ? undefined : parseSize("max-size", { text: get("max-size")!, min: 64 * 1024, max: 2 ** 50 }),
    connectTimeoutMs: parseDuration("connect-timeout", { text: get("connect-timeout") ?? "10s", min: 50, max: 3_600_000 }),
    fallback,
    commandTimeoutMs: /^0+(ms|s)?$/.test(get("command-timeout") ?? "") ? 0 : parseDuration("command-timeout", { text: get("command-timeout") ?? "5s", min: 10, max: 3_600_000 }),
    allowEviction: flags.has("allow-eviction"),
    prefix,
    maxFrame: parseSize("max-frame", { text: get("max-frame") ?? String(DEFAULT_MAX_FRAME), min: 1024, max: 256 * 1024 * 1024 }),
    dedupeWindowMs: parseDuration("dedupe-window", { text: get("dedupe-window") ?? String(DEFAULT_DEDUPE_WINDOW_MS), min: 1, max: 7 * 24 * 3_600_000 }),
    claimTimeoutMs: parseDuration("claim-timeout", { text: get("claim-timeout") ?? "30s", min: 10, max: 24 * 3_600_000 }),
    maxDeliveries: parseCount("max-deliveries", { text: get("max-deliveries") ?? "5", min: 1, max: 1000 }),
    token,
    trust: trustFlags(get, (f) => flags.has(f)),
    helloTimeoutMs: parseDuration("hello-timeout", { text: get("hello-timeout") ?? "5s", min: 100, max: 3_600_000 }),
    frameTimeoutMs: parseDuration("frame-timeout", { text: get("frame-timeout") ?? "10s", min: 100, max: 3_600_000 }),
    partialBudget: parseSize("partial-budget", { text: get("partial-budget") ?? "256MiB", min: 1024 * 1024, max: 64 * 1024 * 1024 * 1024 }),
    http: get("http") === undefined ? undefined : parseHttpAddress(get("http")!),
    httpAllowHosts: listFlag("http-allow-host", { text: get("http-allow-host"), shape: /^[A-Za-z0-9.:-]{1,253}$/, want: "a host name such as ampd.internal" }),
    httpAllowOrigins: listFlag("http-allow-origin", { text: get("http-allow-origin"), shape: /^https?:\/\/[^\s/]+$/, want: "an origin such as https://app.example:3000" }),
    logLevel: parseChoice("log-level", { text: get("log-level") ?? "info", choices: LOG_LEVELS }),
    logFormat: parseChoice("log-format", { text: get("log-format") ?? "text", choices: LOG_FORMATS }),
  };
}

function retentionOf(retain: string | undefined, policy: string | undefined): Retention {
  const r: Retention = { policy: parseChoice("retention-policy", { text: policy ?? DEFAULT_RETENTION.policy, choices: ["interest", "limits"] as const }) };
  if (retain === "none") return r;
  r.maxAgeMs = retain === undefined ? DEFAULT_RETENTION.maxAgeMs : parseDuration("retain", { text: retain, min: 1000, max: 100 * 365 * 24 * 3_600_000 });
  return r;
}

function listFlag(flag: string, value: { text: string | undefined; shape: RegExp; want: string }): string[] {
  const { text, shape, want } = value;
  if (text === undefined) return [];
  const items = text.split(",").map((x) => x.trim()).filter((x) => x !== "");
  for (const x of items) {
    if (!shape.test(x)) throw new UsageError(`--${flag}: each item must be ${want} (was ${JSON.stringify(x)})`);
  }
  return items;
}

async function openBackend(o: DaemonOptions, log: Logger): Promise<StreamBackend> {
  const memory = () => new MemoryBackend({ dedupeWindowMs: o.dedupeWindowMs, claimTimeoutMs: o.claimTimeoutMs });
  if (o.backend === "memory") {
    log.warn("backend memory: messages are kept in this process only and ALL are lost when ampd exits (use the default sqlite backend to keep them)");
    return memory();
  }
  if (o.backend === "sqlite" || o.redisUrl === undefined) {
    const { SqliteBackend } = await import("./backend/sqlite.ts"); // bun:sqlite loads only for this backend
    const store = await SqliteBackend.open({
      path: o.dataPath,
      sync: o.sync,
      dedupeWindowMs: o.dedupeWindowMs,
      claimTimeoutMs: o.claimTimeoutMs,
      maxBytes: o.maxSizeBytes,
    });
    log.info(`backend sqlite: ${store.path} (sync ${o.sync})`);
    if (store.readOnly) log.warn(`${store.path} is read-only: serving reads; every add fails with STORAGE_READ_ONLY`);
    return store;
  }
  if (o.allowEviction) log.warn("--allow-eviction: Redis may delete stored messages if its maxmemory-policy evicts keys");
  const { RedisBackend } = await import("./backend/redis.ts"); // the Redis client loads only for this backend
  try {
    const redis = await RedisBackend.connect({
      url: o.redisUrl,
      clusterNodes: o.clusterNodes,
      waitReplicas: o.redisWait,
      waitTimeoutMs: o.redisWaitTimeoutMs,
      prefix: o.prefix,
      dedupeWindowMs: o.dedupeWindowMs,
      claimTimeoutMs: o.claimTimeoutMs,
      connectTimeoutMs: o.connectTimeoutMs,
      commandTimeoutMs: o.commandTimeoutMs,
      allowEviction: o.allowEviction,
    });
    const nodes = redis.clusterNodes;
    if (nodes !== undefined) log.info(`backend redis: a Redis Cluster of ${nodes.length} masters (${nodes.map((n) => `${n.address} ${n.slots} slots`).join(", ")})`);
    if (o.redisWait > 0) log.info(`backend redis: adds are acknowledged once ${o.redisWait} replica(s) have them (--redis-wait)`);
    return redis;
  } catch (e) {
    // A reachable Redis that ampd refuses (its eviction policy) never falls back.
    if (!(e instanceof BackendUnavailableError)) throw e;
    // Memory would split the bus (other sidecars use the named Redis), so only on request.
    if (o.fallback !== "memory") {
      const hint = o.backend === "auto" ? "; ampd does not fall back to memory when a Redis is named (--fallback memory allows it)" : "";
      throw new Error(`${e.message}${hint}`, { cause: e });
    }
    const why = (e as Error).message;
    log.warn("!".repeat(72));
    log.warn(`Redis is not reachable: ${why}`);
    log.warn("FALLING BACK TO IN-MEMORY STREAMS: messages are not shared with other sidecars and are lost on exit.");
    log.warn("!".repeat(72));
    return memory();
  }
}

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
  if (command !== undefined) process.exit(await command.run(argv.slice(1), { daemonFlags: FLAGS }));
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
    console.log(HELP);
    process.exit(0);
  }
  if (opts === "version") {
    console.log(`ampd ${pkg.version}`);
    process.exit(0);
  }
  process.exit(await runDaemon(opts));
}
