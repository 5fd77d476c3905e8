/**
 * Opens the store ampd serves from its options: SQLite, Redis (a single
 * node or a cluster) or memory, and the fallback to memory when a named
 * Redis is unreachable and `--fallback memory` allows it. SQLite and the
 * Redis client load only when chosen.
 *
 * @module
 */
import { MemoryBackend } from "../sdk/backend/memory.ts";
import { BackendUnavailableError, type StreamBackend } from "../sdk/backend/types.ts";
import type { DaemonOptions } from "./daemon_options.ts";
import type { Logger } from "./log.ts";

/** The backend `o` names, opened and ready; throws with the reason when it cannot be. */
export async function openBackend(o: DaemonOptions, log: Logger): Promise<StreamBackend> {
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
