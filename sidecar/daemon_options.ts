/**
 * The daemon's flags (`ampd [serve] [flags]`) and their reading, with the
 * environment, into checked `DaemonOptions`; a bad value is a `UsageError`.
 *
 * @module
 */
import { resolve } from "node:path";
import { DEFAULT_MAX_FRAME } from "../sdk/transport/frame.ts";
import { DEFAULT_DEDUPE_WINDOW_MS, DEFAULT_RETENTION, type Retention } from "../sdk/backend/types.ts";
import { parseArgs, parseChoice, parseCount, parseDuration, parseSize, UsageError } from "./cli/args.ts";
import { unknownCommand } from "./cli/commands.ts";
import { type TrustFlags, trustFlags } from "./keyring_file.ts";
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from "./log.ts";
import { type HttpAddress, parseHttpAddress } from "./web/address.ts";

/** The daemon's flags, for the parser and for `ampd completion` (their help is in `DAEMON_HELP`). */
export const DAEMON_FLAGS = {
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
  const { flags, positional } = parseArgs(argv, DAEMON_FLAGS);
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
