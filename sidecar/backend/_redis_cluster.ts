/**
 * Redis Cluster support of `RedisBackend`: commands routed to the master of
 * their key's hash slot, reads over several streams split by slot and
 * merged, blocking reads on one connection per slot waited on, and the
 * topology watched so that a failover is followed.
 *
 * Every key of one stream shares its hash tag (`ampbus:{<stream>}`,
 * `ampbus:{<stream>}:op:<opId>`), so each single-stream operation, the
 * dedupe script included, runs on one node and stays atomic there. What
 * spans streams (a read over several, the list of streams) is split here.
 *
 * node-redis's cluster client follows `MOVED` and `ASK` itself. Two cases it
 * does not cover are handled here: `TRYAGAIN` (a multi-key command, such as
 * the dedupe script, while its slot is being migrated) is retried with a
 * short backoff, and a master that stops answering (killed, its replica
 * promoted) never answers `MOVED`, so the slot map is compared every second
 * with what a live node reports and, when they differ, refreshed.
 *
 * @module
 */
import calculateSlot from "cluster-key-slot";
import { createCluster, ErrorReply } from "redis";
import { BlockingPool } from "./_redis_blocking.ts";
import type { BlockCursor } from "./_redis_blocking.ts";
import type { CommandSender, RawReply, RedisClient, RETURN_BUFFERS } from "./_redis_reply.ts";
import type { StreamBatch } from "../../sdk/backend/types.ts";

/** The node-redis v4 cluster client. */
export type RedisClusterClient = ReturnType<typeof createCluster>;

/** How long a command answered `TRYAGAIN` (slot migrating) is retried, in ms. */
export const TRYAGAIN_FOR_MS = 5000;

/** How often the slot map is compared with a live node's, in ms. */
export const TOPOLOGY_CHECK_MS = 1000;

/** A blocking-read connection of a slot nobody waited on for this long is closed, in ms. */
export const IDLE_SLOT_CONNECTION_MS = 30_000;

/** The hash slot of a key (CRC16 of the hash tag, mod 16384). */
export function slotOf(key: string | Buffer): number {
  return calculateSlot(key);
}

/**
 * The key a command is routed by: the first key it names, or undefined for a
 * keyless command (`INFO`, `PING`, `SCAN`...), which any node may answer.
 */
export function firstKey(args: readonly (string | Buffer)[]): string | Buffer | undefined {
  const name = String(args[0]).toUpperCase();
  switch (name) {
    case "EVAL":
    case "EVALSHA":
    case "EVAL_RO":
    case "EVALSHA_RO":
      return Number(args[2]) > 0 ? args[3] : undefined;
    case "XREAD":
    case "XREADGROUP": {
      const at = args.findIndex((a) => String(a).toUpperCase() === "STREAMS");
      return at < 0 ? undefined : args[at + 1];
    }
    case "XGROUP":
    case "XINFO":
      return args[2];
    case "INFO":
    case "PING":
    case "SCAN":
    case "CLIENT":
    case "CLUSTER":
    case "CONFIG":
    case "WAIT":
    case "SCRIPT":
      return undefined;
    default:
      return args[1];
  }
}

function isTryAgain(e: unknown): boolean {
  return e instanceof ErrorReply && e.message.startsWith("TRYAGAIN");
}

/**
 * Commands over a cluster: each goes to the master of its first key's slot
 * (node-redis follows MOVED and ASK); `TRYAGAIN` is retried for up to
 * `TRYAGAIN_FOR_MS`. A keyless command goes to any node.
 *
 * @example
 * ```ts
 * const commands = new ClusterCommands(cluster);
 * const id = await commands.sendCommand<string>(["XADD", "ampbus:{tasks}", "*", "k", "v"]);
 * ```
 */
export class ClusterCommands implements CommandSender {
  readonly cluster: RedisClusterClient;
  /** Called after a command failed without a Redis reply (node down?): the topology may have changed. */
  onConnectionError: () => void = () => {};

  constructor(cluster: RedisClusterClient) {
    this.cluster = cluster;
  }

  async sendCommand<T = RawReply>(args: (string | Buffer)[], options?: typeof RETURN_BUFFERS): Promise<T> {
    return await this.sendTo<T>(firstKey(args), args, options);
  }

  /** Sends `args` to the master of `key`'s slot (WAIT must reach the node that took the write). */
  async sendTo<T = RawReply>(key: string | Buffer | undefined, args: (string | Buffer)[], options?: typeof RETURN_BUFFERS): Promise<T> {
    let delay = 5;
    const until = performance.now() + TRYAGAIN_FOR_MS;
    for (;;) {
      try {
        return await this.cluster.sendCommand<T>(key, false, args, options);
      } catch (e) {
        if (isTryAgain(e) && performance.now() < until) {
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, 100);
          continue;
        }
        if (!(e instanceof ErrorReply)) this.onConnectionError();
        throw e;
      }
    }
  }

  /** The node clients of every master (for `SCAN`, which each node answers for its own keys). */
  async masters(): Promise<RedisClient[]> {
    const out: RedisClient[] = [];
    for (const m of this.cluster.masters) out.push((await this.cluster.nodeClient(m)) as unknown as RedisClient);
    return out;
  }
}

/** Groups cursors by hash slot, keeping their order inside each group. */
export function bySlot<T extends { key: string }>(cursors: readonly T[]): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const c of cursors) {
    const slot = slotOf(c.key);
    let g = groups.get(slot);
    if (g === undefined) groups.set(slot, (g = []));
    g.push(c);
  }
  return groups;
}

/** Merges per-slot batches back into the order of `cursors`. */
export function mergeInOrder(cursors: readonly { stream: string }[], parts: readonly StreamBatch[][]): StreamBatch[] {
  const byStream = new Map<string, StreamBatch>();
  for (const part of parts) for (const b of part) byStream.set(b.stream, b);
  const out: StreamBatch[] = [];
  for (const c of cursors) {
    const b = byStream.get(c.stream);
    if (b !== undefined) out.push(b);
  }
  return out;
}

interface SlotPool {
  address: string;
  pool: BlockingPool;
  lastUsed: number;
  waiting: number;
}

/**
 * Blocking reads over a cluster. One `XREAD BLOCK` may only name keys of one
 * slot, so a read over streams of several slots waits on each slot's
 * connection at once and returns what the first one finds (the others are
 * aborted: `XREAD` takes nothing away, so the next read finds their entries
 * too). Each slot waited on has one connection to its master, shared by
 * every reader of that slot; it is closed after `IDLE_SLOT_CONNECTION_MS`
 * without readers, and dropped when the slot moves to another master.
 *
 * @example
 * ```ts
 * const pool = new ClusterBlockingPool(cluster);
 * const batches = await pool.wait([{ stream: "a", key: "ampbus:{a}", after: "0-0" }], { count: 100, block: 5000 });
 * ```
 */
export class ClusterBlockingPool {
  #cluster: RedisClusterClient;
  #slots = new Map<number, SlotPool>();
  #closed = false;
  #sweeper: ReturnType<typeof setInterval>;

  constructor(cluster: RedisClusterClient) {
    this.#cluster = cluster;
    this.#sweeper = setInterval(() => this.#sweep(), IDLE_SLOT_CONNECTION_MS / 3);
    this.#sweeper.unref?.();
  }

  /** Blocking connections open (one per slot being waited on). */
  get connections(): number {
    let n = 0;
    for (const s of this.#slots.values()) n += s.pool.connections;
    return n;
  }

  /** Waits up to `block` ms for entries after the cursors; resolves [] on timeout, abort or close. */
  async wait(
    cursors: readonly BlockCursor[],
    options: { count: number; block: number; signal?: AbortSignal },
  ): Promise<StreamBatch[]> {
    if (this.#closed || options.signal?.aborted) return [];
    const groups = bySlot(cursors);
    if (groups.size === 1) {
      const [slot, group] = groups.entries().next().value!;
      return await this.#waitSlot(slot, group, options);
    }
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const waits = [...groups].map(([slot, group]) =>
        this.#waitSlot(slot, group, { count: options.count, block: options.block, signal: ac.signal }).then((batches) => {
          if (batches.length > 0) ac.abort();
          return batches;
        }, (e: unknown) => {
          ac.abort();
          throw e;
        })
      );
      const parts = await Promise.all(waits);
      return mergeInOrder(cursors, parts);
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Drops the connections of slots whose master is no longer the one they were opened to. */
  retarget(): void {
    for (const [slot, s] of this.#slots) {
      const master = this.#cluster.slots[slot]?.master;
      if (master === undefined || master.address !== s.address) {
        this.#slots.delete(slot);
        void s.pool.close();
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    const pools = [...this.#slots.values()];
    this.#slots.clear();
    await Promise.all(pools.map((s) => s.pool.close()));
  }

  async #waitSlot(slot: number, cursors: BlockCursor[], options: { count: number; block: number; signal?: AbortSignal }): Promise<StreamBatch[]> {
    const s = await this.#pool(slot);
    s.waiting++;
    try {
      return await s.pool.wait(cursors, options);
    } finally {
      s.waiting--;
      s.lastUsed = Date.now();
    }
  }

  async #pool(slot: number): Promise<SlotPool> {
    const master = this.#cluster.slots[slot]?.master;
    if (master === undefined) throw new Error(`no master serves hash slot ${slot}`);
    const have = this.#slots.get(slot);
    if (have !== undefined && have.address === master.address) return have;
    if (have !== undefined) {
      this.#slots.delete(slot);
      void have.pool.close();
    }
    const client = (await this.#cluster.nodeClient(master)) as unknown as RedisClient;
    const again = this.#slots.get(slot);
    if (again !== undefined && again.address === master.address) return again;
    const s: SlotPool = { address: master.address, pool: new BlockingPool(client, 1), lastUsed: Date.now(), waiting: 0 };
    this.#slots.set(slot, s);
    return s;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [slot, s] of this.#slots) {
      if (s.waiting === 0 && now - s.lastUsed > IDLE_SLOT_CONNECTION_MS) {
        this.#slots.delete(slot);
        void s.pool.close();
      }
    }
  }
}

/** One slot range of `CLUSTER SLOTS`: first and last slot, and the master's address. */
interface SlotRange {
  from: number;
  to: number;
  master: string;
}

function parseClusterSlots(reply: RawReply): SlotRange[] {
  const out: SlotRange[] = [];
  if (!Array.isArray(reply)) return out;
  for (const r of reply) {
    if (!Array.isArray(r) || !Array.isArray(r[2])) continue;
    const node = r[2];
    out.push({ from: Number(r[0]), to: Number(r[1]), master: `${String(node[0])}:${Number(node[1])}` });
  }
  return out;
}

/**
 * Watches the slot map: every `TOPOLOGY_CHECK_MS` (and at once after a
 * command failed without a reply), asks live masters for `CLUSTER SLOTS`
 * and, when a slot's master differs from node-redis's map, makes node-redis
 * rediscover it. node-redis refreshes its map when a node answers `MOVED`;
 * a dead master never does, so the watcher sends one command to a live
 * master about a key of the moved slot, which that master answers `MOVED`.
 */
export class ClusterTopology {
  #commands: ClusterCommands;
  #timer: ReturnType<typeof setInterval>;
  #running: Promise<boolean> | undefined;
  #onChange: () => void;
  /** Slot map refreshes done because the map was stale. */
  refreshes = 0;
  /** Masters of the slot map whose connection is down, by address (empty while all answer). */
  unreachable: string[] = [];

  constructor(commands: ClusterCommands, onChange: () => void) {
    this.#commands = commands;
    this.#onChange = onChange;
    this.#timer = setInterval(() => void this.check(), TOPOLOGY_CHECK_MS);
    this.#timer.unref?.();
    commands.onConnectionError = () => void this.check();
  }

  /** Compares the map with a live node's; resolves true when it was refreshed. */
  check(): Promise<boolean> {
    this.#running ??= this.#run().catch(() => false).finally(() => (this.#running = undefined));
    return this.#running;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#commands.onConnectionError = () => {};
  }

  async #run(): Promise<boolean> {
    const cluster = this.#commands.cluster;
    if (!cluster.isOpen) return false;
    const down = cluster.masters
      .filter((m) => m.client !== undefined && !(m.client instanceof Promise) && !(m.client as unknown as RedisClient).isReady)
      .map((m) => m.address);
    if (down.join() !== this.unreachable.join()) {
      this.unreachable = down;
      this.#onChange();
    }
    for (const m of cluster.masters) {
      const client = m.client;
      if (client === undefined || client instanceof Promise || !(client as unknown as RedisClient).isReady) continue;
      let ranges: SlotRange[];
      try {
        ranges = parseClusterSlots(await (client as unknown as RedisClient).sendCommand<RawReply>(["CLUSTER", "SLOTS"]));
      } catch {
        continue;
      }
      const stale = ranges.find((r) => cluster.slots[r.from]?.master.address !== r.master);
      if (stale === undefined) return false;
      // Ask master m (live) about a key of the stale slot, routed as a key m owns: m answers
      // MOVED, and node-redis rediscovers its map from m. It retries a few times and then
      // gives up with the MOVED reply, which is expected here.
      const own = ranges.find((r) => r.master === m.address);
      if (own === undefined) continue;
      try {
        await cluster.sendCommand(keyInSlot(own.from), false, ["EXISTS", keyInSlot(stale.from)]);
      } catch {
        // MOVED after the retries, as intended
      }
      this.refreshes++;
      this.#onChange();
      return true;
    }
    return false;
  }
}

const slotKeys = new Map<number, string>();

/** A key that hashes to `slot` (found by search and kept). */
export function keyInSlot(slot: number): string {
  let k = slotKeys.get(slot);
  if (k !== undefined) return k;
  for (let i = 0;; i++) {
    const candidate = `ampbus:slot:${i}`;
    if (calculateSlot(candidate) === slot) {
      k = candidate;
      break;
    }
  }
  slotKeys.set(slot, k);
  return k;
}
