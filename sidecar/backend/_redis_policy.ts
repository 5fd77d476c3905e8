/**
 * The eviction-policy check of `RedisBackend`. With any `maxmemory-policy`
 * but `noeviction`, Redis deletes keys when it reaches `maxmemory`: whole
 * streams of acknowledged messages and the dedupe keys that make retries
 * safe vanish without an error. ampd therefore refuses to serve adds on such
 * a server unless the operator said `--allow-eviction`.
 *
 * @module
 */
import { BackendMisconfiguredError } from "../../sdk/backend/types.ts";
import type { CommandSender } from "./_redis_reply.ts";

/**
 * Reads the server's `maxmemory-policy` from `INFO memory` (which managed
 * Redis services serve even where `CONFIG` is renamed away).
 *
 * @example
 * ```ts
 * if (await evictionPolicy(client) !== "noeviction") throw policyRefusal("redis://db:6379", policy);
 * ```
 */
export async function evictionPolicy(client: CommandSender): Promise<string> {
  const info = String(await client.sendCommand<string>(["INFO", "memory"]));
  const m = /^maxmemory_policy:(\S+)/m.exec(info);
  // Redis before 2.8 does not report it; its default was volatile-lru.
  return m?.[1] ?? "unknown";
}

/** The error adds get while the policy is not `noeviction`. */
export function policyRefusal(where: string, policy: string): BackendMisconfiguredError {
  return new BackendMisconfiguredError(
    `Redis at ${where} has maxmemory-policy ${policy}: at maxmemory it would delete stored messages ` +
      "(acknowledged adds) and dedupe keys without an error. Set it to noeviction " +
      "(CONFIG SET maxmemory-policy noeviction, and in redis.conf) or start ampd with --allow-eviction",
  );
}
