/**
 * Starts a real `redis-server` for tests: a free TCP port on 127.0.0.1, no
 * RDB snapshots, a fresh temporary directory. Never touches a Redis on 6379.
 *
 * When `redis-server` is not on PATH, `REDIS_SERVER_AVAILABLE` is false and
 * suites skip with `REDIS_SKIP_REASON` printed, except under CI (`CI` set),
 * where importing this module throws: a missing redis-server in CI is a
 * failure, not a skip. (`npm test` installs it first, as root on Debian:
 * scripts/ensure_system.mjs.)
 *
 * @example
 * ```ts
 * const server = await RedisServer.start();
 * const backend = await RedisBackend.connect({ url: server.url });
 * await server.kill();    // SIGKILL
 * // Durable across kill(): every acknowledged write is fsynced first.
 * const durable = await RedisServer.start({ appendonly: true, appendfsync: "always" });
 * await server.restart(); // same port and dir
 * await server.stop();
 * ```
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

function findRedisServer(): boolean {
  const r = spawnSync("redis-server", ["--version"], { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
}

/** True when a `redis-server` binary is on PATH. */
export const REDIS_SERVER_AVAILABLE: boolean = findRedisServer();

/** Why Redis suites are skipped, or undefined when they run. */
export const REDIS_SKIP_REASON: string | undefined = REDIS_SERVER_AVAILABLE
  ? undefined
  : "redis-server is not on PATH: skipping the Redis backend tests (apt-get install redis-server; npm test does, as root on Debian)";

if (!REDIS_SERVER_AVAILABLE && process.env.CI) {
  throw new Error(
    "redis-server is not on PATH but CI is set: the Redis backend tests must run in CI (apt-get install redis-server; npm test does, as root on Debian)",
  );
}

/** Options of `RedisServer.start()`. */
export interface RedisServerOptions {
  /** Turn on the append-only file, so data survives `restart()`. Defaults to false. */
  appendonly?: boolean;
  /**
   * How often the append-only file is fsynced: `"always"` (every write is on disk
   * before Redis answers, so a SIGKILL loses nothing acknowledged), `"everysec"`
   * or `"no"`. Only with `appendonly`. Defaults to Redis's own default, `"everysec"`.
   */
  appendfsync?: "always" | "everysec" | "no";
  /** Milliseconds to wait for PING to answer. Defaults to 10000. */
  startTimeoutMs?: number;
  /**
   * Start as a Redis Cluster node (`cluster-enabled yes`, its `nodes.conf` in
   * the server's directory); `RedisCluster` (redis_cluster.ts) joins such
   * nodes into a cluster. Defaults to false.
   */
  cluster?: boolean;
}

/** A `redis-server` child process on a free port. */
export class RedisServer {
  readonly port: number;
  readonly dir: string;
  #appendonly: boolean;
  #appendfsync: "always" | "everysec" | "no" | undefined;
  #startTimeoutMs: number;
  #cluster: boolean;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  private constructor(port: number, dir: string, options: RedisServerOptions) {
    this.port = port;
    this.dir = dir;
    this.#appendonly = options.appendonly ?? false;
    this.#appendfsync = options.appendfsync;
    this.#startTimeoutMs = options.startTimeoutMs ?? 10_000;
    this.#cluster = options.cluster ?? false;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a server on a free port in a fresh temporary directory and waits for PING. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    if (!REDIS_SERVER_AVAILABLE) throw new Error(REDIS_SKIP_REASON);
    if (options.appendfsync !== undefined && !options.appendonly) throw new Error("appendfsync needs appendonly: true");
    const dir = mkdtempSync(join(tmpdir(), "ampbus-redis-"));
    const port = await freePort();
    const server = new RedisServer(port, dir, options);
    await server.#spawn();
    return server;
  }

  /** Starts the server again on the same port and directory (after `stop()` or `kill()`). */
  async restart(): Promise<void> {
    if (this.#child !== undefined) throw new Error("redis-server is still running; stop or kill it first");
    await this.#spawn();
  }

  /** SIGTERM, then waits for the process to exit. Removes nothing (see `dispose()`). */
  async stop(): Promise<void> {
    await this.#signal("SIGTERM");
  }

  /** SIGKILL: the server dies at once, as in a crash. */
  async kill(): Promise<void> {
    await this.#signal("SIGKILL");
  }

  /** Stops the server if it runs and removes its directory. */
  async dispose(): Promise<void> {
    await this.#signal("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    child.kill(sig);
    await this.#exited;
  }

  async #spawn(): Promise<void> {
    const args = [
      "--port", String(this.port),
      "--bind", "127.0.0.1",
      "--save", "",
      "--appendonly", this.#appendonly ? "yes" : "no",
      "--dir", this.dir,
      "--daemonize", "no",
      "--loglevel", "warning",
    ];
    if (this.#appendfsync !== undefined) args.push("--appendfsync", this.#appendfsync);
    if (this.#cluster) args.push("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000", "--repl-diskless-sync-delay", "0");
    const child = spawn("redis-server", args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      child.once("exit", () => {
        if (this.#child === child) this.#child = undefined;
        resolve();
      });
    });
    const deadline = Date.now() + this.#startTimeoutMs;
    while (Date.now() < deadline) {
      if (this.#child !== child) throw new Error(`redis-server exited at start: ${stderr.trim()}`);
      if (await ping(this.port)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    throw new Error(`redis-server did not answer PING on port ${this.port} within ${this.#startTimeoutMs} ms`);
  }
}

/** A free TCP port on 127.0.0.1 (never 6379, the machine's own Redis). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => (port === 6379 ? freePort().then(resolve, reject) : resolve(port)));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = netConnect({ port, host: "127.0.0.1" });
    let buf = "";
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once("error", () => done(false));
    sock.once("connect", () => sock.write("PING\r\n"));
    sock.on("data", (d) => {
      buf += d.toString();
      if (buf.includes("\r\n")) done(buf.startsWith("+PONG"));
    });
  });
}
