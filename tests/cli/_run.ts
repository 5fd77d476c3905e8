/**
 * Runs the compiled `ampd` binary as a command against a running ampd, and
 * starts ampd on each backend the CLI tests cover: memory, the durable
 * default (SQLite) and Redis (a test-owned redis-server).
 */
import { spawn } from "node:child_process";
import { Ampd, buildAmpd } from "../_helpers/ampd.ts";
import { REDIS_SERVER_AVAILABLE, RedisServer } from "../_helpers/redis_server.ts";

/** What a command printed and how it exited. */
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: string[];
}

/** Runs `ampd <args>` with `input` on stdin; resolves with its exit code and output. */
export async function run(args: string[], options: { socket?: string; input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<Run> {
  const bin = await buildAmpd();
  const env = { ...process.env, AMPD_SOCKET: options.socket ?? "", AMPD_TOKEN: "", AMPD_KEY: "", AMPD_AGENT: "", ...options.env };
  const child = spawn(bin, args, { env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin.on("error", () => {});
  child.stdin.end(options.input ?? "");
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 15_000);
  const code = await new Promise<number | null>((r) => child.once("close", r));
  clearTimeout(timer);
  return { code, stdout, stderr, lines: stdout.split("\n").filter((l) => l !== "") };
}

/** A backend the CLI tests run on, and how to start ampd on it. */
export interface BackendUnderTest {
  name: "memory" | "sqlite" | "redis";
  /** Skip reason, when the backend cannot run here. */
  skip?: string;
  /** Starts ampd on this backend (for Redis, on a redis-server the suite owns). */
  start(extra?: string[]): Promise<Ampd>;
  /** Stops what `start` needed besides ampd. */
  close(): Promise<void>;
  /** The Redis URL, on the redis backend once started. */
  redisUrl?(): string | undefined;
}

/** memory, sqlite (ampd's default) and redis. */
export function backends(): BackendUnderTest[] {
  let redis: RedisServer | undefined;
  return [
    { name: "memory", start: (extra = []) => Ampd.start({ args: ["--backend", "memory", ...extra] }), close: async () => {} },
    { name: "sqlite", start: (extra = []) => Ampd.start({ args: extra }), close: async () => {} },
    {
      name: "redis",
      skip: REDIS_SERVER_AVAILABLE ? undefined : "redis-server is not installed",
      start: async (extra = []) => {
        redis ??= await RedisServer.start();
        return await Ampd.start({ args: ["--redis", redis.url, ...extra] });
      },
      close: async () => {
        await redis?.dispose();
        redis = undefined;
      },
      redisUrl: () => redis?.url,
    },
  ];
}
