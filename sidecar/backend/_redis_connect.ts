/**
 * The connection of `RedisBackend` to Redis: one node-redis client to a
 * standalone server, or a cluster client (with its command routing and its
 * topology watcher) to a Redis Cluster; which one a URL names is detected
 * with `INFO cluster`. It tracks whether the main connection is up and
 * counts reconnections, and tells the backend of every change, so that the
 * backend's state follows it.
 *
 * @module
 */
import { backoffDelay } from "../../sdk/backoff.ts";
import { createClient, createCluster } from "redis";
import { BackendUnavailableError } from "../../sdk/backend/types.ts";
import { BlockingPool } from "./_redis_blocking.ts";
import type { BlockingReads } from "./_redis_blocking.ts";
import { ClusterBlockingPool, ClusterCommands, ClusterTopology } from "./_redis_cluster.ts";
import type { RedisClusterClient } from "./_redis_cluster.ts";
import type { CommandSender, RedisClient } from "./_redis_reply.ts";

/** What the connection tells its backend. */
export interface ConnectionEvents {
  /** Redis or node-redis reported `message`; `down` when the main connection is down with it. */
  error(message: string, down: boolean): void;
  /** The main connection dropped; node-redis reconnects it. */
  down(): void;
  /** The main connection is up, at first or again. */
  up(): void;
  /** On a cluster: the watcher found the topology changed (a master down, back, or replaced). */
  topologyChanged(): void;
}

/** Where to connect to and how, from `RedisBackendOptions`. */
export interface ConnectionOptions {
  url: string;
  connectTimeoutMs?: number;
  /** A Redis Cluster's seed nodes; absent for a standalone Redis. */
  seeds?: readonly string[];
}

/** The outcome of one `connect()`: connected, failed, or no answer within the time. */
export type ConnectOutcome = "ok" | Error | "timeout";

/** Reconnect delay: the SDK's backoff, 50 ms doubling up to 1 s, with jitter. */
function reconnectDelay(retries: number): number {
  return backoffDelay(retries);
}

/**
 * The connection to one standalone Redis or one Redis Cluster.
 *
 * @example
 * ```ts
 * const connection = new RedisConnection({ url: "redis://127.0.0.1:6379" }, events);
 * if ((await connection.connect(2000)) === "ok") await connection.sender.sendCommand(["PING"]);
 * ```
 */
export class RedisConnection {
  /** Where Redis is, for messages (passwords redacted). */
  readonly where: string;
  /** The connection to a standalone Redis; undefined on a cluster. */
  readonly client: RedisClient | undefined;
  /** The cluster client, its routing and its topology watcher; undefined on a standalone Redis. */
  readonly cluster: { client: RedisClusterClient; commands: ClusterCommands; topology: ClusterTopology } | undefined;
  /** What commands go through (on a cluster, routed by key). */
  readonly sender: CommandSender;
  /** The main connection is up. */
  connected = false;
  /** It was up once: a later "ready" is a reconnection. */
  everReady = false;
  reconnects = 0;
  #events: ConnectionEvents;

  constructor(options: ConnectionOptions, events: ConnectionEvents) {
    this.#events = events;
    const seeds = options.seeds;
    // Per attempt: a long connectTimeoutMs means more attempts, not a longer wait on a dead address.
    const socket = { connectTimeout: Math.min(options.connectTimeoutMs ?? 2000, 5000), reconnectStrategy: reconnectDelay };
    if (seeds === undefined) {
      this.where = redactUrl(options.url);
      const client = createClient({ url: options.url, name: "ampd", disableOfflineQueue: true, socket });
      this.client = client;
      this.sender = client;
      // Without an "error" listener node-redis would throw an unhandled error event.
      client.on("error", (e: Error) => {
        this.connected = client.isReady;
        events.error(e.message, !this.connected);
      });
      client.on("reconnecting", () => {
        this.connected = false;
        events.down();
      });
      client.on("ready", () => this.#ready());
    } else {
      this.where = `the Redis Cluster of ${seeds.map(redactUrl).join(", ")}`;
      const { username, password } = credentials(seeds[0]!);
      const client = createCluster({
        rootNodes: seeds.map((url) => ({ url })),
        defaults: { name: "ampd", disableOfflineQueue: true, socket, username, password },
      });
      const commands = new ClusterCommands(client);
      this.cluster = { client, commands, topology: new ClusterTopology(commands, () => events.topologyChanged()) };
      this.sender = commands;
      // The cluster client reconnects each node on its own; it reports errors only.
      client.on("error", (e: Error) => events.error(e.message, false));
    }
  }

  /** The blocking reads over this connection, on at most `max` connections of their own (a cluster: per master). */
  blockingReads(max: number): BlockingReads {
    return this.client !== undefined ? new BlockingPool(this.client, max) : new ClusterBlockingPool(this.cluster!.client);
  }

  /** Connects, giving up after `timeoutMs` (node-redis retries meanwhile). */
  async connect(timeoutMs: number): Promise<ConnectOutcome> {
    const connecting = this.client !== undefined ? this.client.connect() : this.cluster!.client.connect();
    const outcome = await withTimeout(connecting.then(() => "ok" as const, (e: unknown) => e as Error), timeoutMs);
    if (outcome === "ok" && this.cluster !== undefined) this.#ready();
    return outcome;
  }

  /** The main connection is ready for commands. */
  get ready(): boolean {
    return this.client !== undefined ? this.client.isReady : this.connected;
  }

  /** On a cluster: the masters and how many slots each serves. */
  clusterNodes(): { address: string; slots: number }[] | undefined {
    const cluster = this.cluster?.client;
    if (cluster === undefined) return undefined;
    const counts = new Map<string, number>();
    for (const slot of cluster.slots) counts.set(slot.master.address, (counts.get(slot.master.address) ?? 0) + 1);
    return [...counts].map(([address, slots]) => ({ address, slots }));
  }

  /** On a cluster: stops the topology watcher (the first step of closing). */
  stopWatching(): void {
    this.cluster?.topology.close();
  }

  /** Closes the connection; a connection never made or already closed is left as it is. */
  async disconnect(): Promise<void> {
    try {
      if (this.client !== undefined) await this.client.disconnect();
      else await this.cluster!.client.disconnect();
    } catch {
      // never connected, or already closed
    }
  }

  #ready(): void {
    if (this.everReady) this.reconnects++;
    this.everReady = true;
    this.connected = true;
    this.#events.up();
  }
}

/** The error of a `connect()` that did not reach `what` within `o.timeoutMs`. */
export function unreachableError(what: string, o: { timeoutMs: number; outcome: ConnectOutcome; lastError: string | undefined }): BackendUnavailableError {
  const { outcome } = o;
  const why = outcome instanceof Error ? outcome.message : (o.lastError ?? "no answer");
  return new BackendUnavailableError(`${what} is not reachable within ${o.timeoutMs} ms (${why})`, {
    cause: outcome instanceof Error ? outcome : undefined,
  });
}

/** Whether the Redis answering `commands` is a Redis Cluster node (`INFO cluster`: `cluster_enabled:1`). */
export async function clusterEnabled(commands: CommandSender): Promise<boolean> {
  const info = String(await commands.sendCommand<string>(["INFO", "cluster"]));
  return /^cluster_enabled:1/m.test(info);
}

/** `url` without its password (`redis://***@host`), for messages. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, "//***@");
}

/** User name and password of a `redis://` URL (the cluster's other nodes are reached with them). */
function credentials(url: string): { username?: string; password?: string } {
  try {
    const u = new URL(url);
    return {
      username: u.username === "" ? undefined : decodeURIComponent(u.username),
      password: u.password === "" ? undefined : decodeURIComponent(u.password),
    };
  } catch {
    return {};
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
  try {
    return await Promise.race([p, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
