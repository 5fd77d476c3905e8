/**
 * The Lua scripts of `RedisBackend`, run with EVALSHA and, when the server
 * has not cached them yet (first use, or after a restart), EVAL.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { isNoScript } from "./_redis_reply.ts";
import type { CommandSender, RawReply, RETURN_BUFFERS } from "./_redis_reply.ts";

/**
 * Idempotent add. KEYS[1] stream key, KEYS[2] dedupe key; ARGV[1] dedupe
 * window in ms, ARGV[2] maxLen or "" for none, ARGV[3..] the XADD fields.
 * Returns `{entryId, 1}` when the opId was already stored, else `{entryId, 0}`.
 * Atomic: two sidecars racing on one opId store it once. ampd itself runs
 * `ADD_BATCH_SCRIPT`, which does the same for many entries; this one is for
 * writers of one entry at a time (and the bench's raw EVALSHA row).
 */
export const ADD_SCRIPT = `
local first = redis.call('GET', KEYS[2])
if first then return {first, 1} end
local id
if ARGV[2] == '' then
  id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
else
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
end
redis.call('SET', KEYS[2], id, 'PX', ARGV[1])
return {id, 0}
`;

/**
 * Idempotent adds of a batch of entries to one stream, in order: what
 * `RedisBackend` runs for the adds of one event-loop turn. KEYS[1] stream
 * key, KEYS[1 + i] the dedupe key of entry i, the last KEYS the stream's
 * meta hash (`<key>:meta`, where what an entry's maxLen trims away is
 * counted under `trim`); ARGV[1] dedupe window in ms,
 * ARGV[2] how the msgs come: "joined" (every entry's msg bytes one after the
 * other in the last ARGV, each entry giving its length) or "apart" (each
 * entry giving its msg itself); then 9 values per entry: maxLen or "", the
 * values of the fields id, opId, type, sender, receiver, tier ("" for none),
 * expiresAt ("" for none), and the msg's byte length ("joined") or the msg
 * ("apart"). Joined, small messages cost node-redis one socket write for the
 * batch instead of one per entry; large ones go apart, uncopied.
 * Per entry, as `ADD_SCRIPT`: a stored opId answers its first entry id
 * (also for an opId stored earlier in the same batch), else XADD and SET.
 * Returns `{flag1, value1, flag2, value2, ..., trimmed}`: flag 0 stored (value the
 * new entry id), 1 duplicate (value the first entry id), 2 refused (value
 * Redis's error, e.g. OOM): one refused entry does not stop the others;
 * `trimmed` is how many entries the batch's maxLen trims removed.
 */
export const ADD_BATCH_SCRIPT = `
local out = {}
local window = ARGV[1]
local joined = ARGV[2] == 'joined'
local msgs = ARGV[#ARGV]
local at = 1
local trimmed = 0
for i = 1, #KEYS - 2 do
  local b = 3 + (i - 1) * 9
  local msg
  if joined then
    local len = tonumber(ARGV[b + 8])
    msg = string.sub(msgs, at, at + len - 1)
    at = at + len
  else
    msg = ARGV[b + 8]
  end
  local first = redis.pcall('GET', KEYS[i + 1])
  if type(first) == 'table' then
    out[#out + 1] = 2
    out[#out + 1] = first.err
  elseif first then
    out[#out + 1] = 1
    out[#out + 1] = first
  else
    local x = {'XADD', KEYS[1]}
    local before = -1
    if ARGV[b] ~= '' then
      x[3] = 'MAXLEN'
      x[4] = '~'
      x[5] = ARGV[b]
      before = redis.call('XLEN', KEYS[1])
    end
    local n = #x
    x[n + 1] = '*'
    x[n + 2] = 'id'
    x[n + 3] = ARGV[b + 1]
    x[n + 4] = 'opId'
    x[n + 5] = ARGV[b + 2]
    x[n + 6] = 'type'
    x[n + 7] = ARGV[b + 3]
    x[n + 8] = 'sender'
    x[n + 9] = ARGV[b + 4]
    x[n + 10] = 'receiver'
    x[n + 11] = ARGV[b + 5]
    n = n + 11
    if ARGV[b + 6] ~= '' then
      x[n + 1] = 'tier'
      x[n + 2] = ARGV[b + 6]
      n = n + 2
    end
    if ARGV[b + 7] ~= '' then
      x[n + 1] = 'expiresAt'
      x[n + 2] = ARGV[b + 7]
      n = n + 2
    end
    x[n + 1] = 'msg'
    x[n + 2] = msg
    local id = redis.pcall(unpack(x))
    if type(id) == 'table' then
      out[#out + 1] = 2
      out[#out + 1] = id.err
    else
      redis.pcall('SET', KEYS[i + 1], id, 'PX', window)
      out[#out + 1] = 0
      out[#out + 1] = id
      if before >= 0 then
        local gone = before + 1 - redis.call('XLEN', KEYS[1])
        if gone > 0 then trimmed = trimmed + gone end
      end
    end
  end
end
if trimmed > 0 then redis.call('HINCRBY', KEYS[#KEYS], 'trim', trimmed) end
out[#out + 1] = trimmed
return out
`;

/**
 * An add with maxLen and no dedupe (`--dedupe-window 0`): KEYS[1] stream,
 * KEYS[2] its meta hash; ARGV[1] maxLen, then the entry's fields. XADDs with
 * `MAXLEN ~` and counts what the trim removed under `trim`. Returns
 * `{entryId, trimmed}`.
 */
export const COUNTED_ADD_SCRIPT = `
local before = redis.call('XLEN', KEYS[1])
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, 2))
local gone = before + 1 - redis.call('XLEN', KEYS[1])
if gone > 0 then redis.call('HINCRBY', KEYS[2], 'trim', gone) else gone = 0 end
return {id, gone}
`;

/** Length, first and last entry id of KEYS[1], without sending any message bytes back. */
export const INFO_SCRIPT = `
local n = redis.call('XLEN', KEYS[1])
if n == 0 then return {0} end
local f = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local l = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
return {n, f[1][1], l[1][1]}
`;

/** Id of the last entry of KEYS[1], or "0-0": what "$" means at the time of the call. */
export const LAST_ID_SCRIPT = `
local l = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if l[1] then return l[1][1] end
return '0-0'
`;

/**
 * A non-blocking `XREADGROUP ... >` that, when nothing is new, answers the
 * group's last-delivered id instead, atomically: a blocked reader then waits
 * (on a shared blocking connection) for any entry after that id and tries
 * again, so no entry added in between is missed. KEYS[1] stream key;
 * ARGV[1] group, ARGV[2] consumer, ARGV[3] count. Returns `{1, entries}` or
 * `{0, lastDeliveredId}`; NOGROUP when the group does not exist.
 */
export const READ_GROUP_SCRIPT = `
local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3], 'STREAMS', KEYS[1], '>')
if r then return {1, r[1][2]} end
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name, last
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  if name == ARGV[1] then return {0, last} end
end
return {0, '0-0'}
`;

/**
 * nack and extend: sets the idle time of the entries ARGV[2] still holds
 * (`XCLAIM ... IDLE <ms> JUSTID`, which leaves the delivery count alone).
 * Entries held by another consumer are skipped, so an entry already claimed
 * away is not stolen back. KEYS[1] stream key; ARGV[1] group, ARGV[2]
 * consumer, ARGV[3] idle ms, ARGV[4..] entry ids. Returns how many were set.
 */
export const TOUCH_SCRIPT = `
local n = 0
for i = 4, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
  if p[1] then
    local c = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3], 'JUSTID')
    if c[1] then n = n + 1 end
  end
end
return n
`;

/**
 * One `XAUTOCLAIM` step plus the delivery count of every entry claimed (the
 * reply of XAUTOCLAIM has none). KEYS[1] stream key; ARGV[1] group, ARGV[2]
 * consumer, ARGV[3] min idle ms, ARGV[4] cursor, ARGV[5] count. Returns
 * `{nextCursor, entries, deliveries}`. Redis 6.2 answers nil for trimmed
 * entries (skipped here); 7.0 drops them from the PEL itself.
 */
export const CLAIM_SCRIPT = `
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local out, counts = {}, {}
for _, e in ipairs(r[2]) do
  if e then
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
    out[#out + 1] = e
    counts[#counts + 1] = p[1][4]
  end
end
return {r[1], out, counts}
`;

/** A Lua script and its SHA1, run by EVALSHA with an EVAL fallback. */
export class LuaScript {
  readonly source: string;
  readonly sha: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  /**
   * Runs the script.
   *
   * @example
   * ```ts
   * const last = await new LuaScript(LAST_ID_SCRIPT).run(client, { keys: ["ampbus:{tasks}"], args: [] });
   * ```
   */
  async run(
    client: CommandSender,
    call: { keys: readonly string[]; args: readonly (string | Buffer)[]; options?: typeof RETURN_BUFFERS },
  ): Promise<RawReply> {
    const { keys, args, options } = call;
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await client.sendCommand<RawReply>(["EVALSHA", this.sha, ...tail], options);
    } catch (e) {
      if (!isNoScript(e)) throw e;
      return await client.sendCommand<RawReply>(["EVAL", this.source, ...tail], options);
    }
  }
}
