/**
 * Stream administration on Redis: trim by length and age under a retention
 * policy, purge, delete, a stream's own retention, what was removed, and
 * group lag. Every command and script touches one stream's keys only: the
 * stream `<prefix>{<stream>}` and keys sharing its `{<stream>}` hash tag
 * (its meta hash `<prefix>{<stream>}:meta`: the counts `trim`, `retention`,
 * `purge`, `droppedPending` and the stream's own retention as JSON in
 * `ownRetention`; its dedupe keys
 * `<prefix>{<stream>}:op:<opId>`), so each goes to one cluster slot.
 *
 * @module
 */
import { checkRetention, checkStream, checkTrim, compareEntryIds } from "../../sdk/backend/args.ts";
import type { GroupInfo, RemovedCounts, Retention, StreamInfo, TrimOptions } from "../../sdk/backend/types.ts";
import { type CommandSender, toBackendError } from "./_redis_reply.ts";
import { LuaScript } from "./_redis_scripts.ts";

/**
 * Lua helpers shared by the scripts: ids as {ms, seq} numbers (doubles hold
 * both exactly), and the first id an interest trim must keep.
 */
const ID_LIB = `
local function pid(s) local ms, seq = string.match(s, '^(%d+)-(%d+)$'); return {tonumber(ms), tonumber(seq)} end
local function sid(p) return string.format('%.0f-%.0f', p[1], p[2]) end
local function less(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end
local function minp(a, b) if a == nil then return b end if b == nil then return a end if less(b, a) then return b end return a end
local function floor_of(key)
  local floor = nil
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    local name, last
    for i = 1, #g, 2 do
      if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then last = g[i + 1] end
    end
    local lp = pid(last)
    floor = minp(floor, {lp[1], lp[2] + 1})
    local first = redis.call('XPENDING', key, name, '-', '+', 1)
    if #first > 0 then floor = minp(floor, pid(first[1][1])) end
  end
  return floor
end
local function pending_in(key, first, cut)
  local n = 0
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    local name
    for i = 1, #g, 2 do if g[i] == 'name' then name = g[i + 1] end end
    n = n + #redis.call('XPENDING', key, name, first, '(' .. sid(cut), 1000000)
  end
  return n
end
`;

/**
 * KEYS: stream, meta. ARGV: maxLen ("" for none), age cut in ms ("" for
 * none), policy ("" for the stream's own, else interest), cause.
 * Removes the entries before the cut; returns {removed, droppedPending}.
 */
const TRIM_SCRIPT = `${ID_LIB}
local key, meta = KEYS[1], KEYS[2]
local maxLen, ageCut, policy, cause = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', key) == 0 then return {0, 0} end
if policy == '' then
  policy = 'interest'
  local own = redis.call('HGET', meta, 'ownRetention')
  if own then local r = cjson.decode(own); if r.policy then policy = r.policy end end
end
local len = redis.call('XLEN', key)
if len == 0 then return {0, 0} end
local cut = nil
if maxLen ~= '' and len > tonumber(maxLen) then
  local keep = tonumber(maxLen)
  if keep == 0 then
    local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1][1]
    local lp = pid(last)
    cut = {lp[1], lp[2] + 1}
  elseif len - keep <= keep then
    local r = redis.call('XRANGE', key, '-', '+', 'COUNT', len - keep + 1)
    cut = pid(r[#r][1])
  else
    local r = redis.call('XREVRANGE', key, '+', '-', 'COUNT', keep)
    cut = pid(r[#r][1])
  end
end
if ageCut ~= '' then
  local a = {tonumber(ageCut), 0}
  if cut == nil or less(cut, a) then cut = a end
end
if cut == nil then return {0, 0} end
if policy == 'interest' then cut = minp(cut, floor_of(key)) end
local dropped = 0
if policy == 'limits' then dropped = pending_in(key, redis.call('XRANGE', key, '-', '+', 'COUNT', 1)[1][1], cut) end
local n = redis.call('XTRIM', key, 'MINID', sid(cut))
if n > 0 then
  redis.call('HINCRBY', meta, cause, n)
  if dropped > 0 then redis.call('HINCRBY', meta, 'droppedPending', dropped) end
end
return {n, dropped}
`;

/** KEYS: stream, meta. Removes every entry; returns {removed, droppedPending}. */
const PURGE_SCRIPT = `${ID_LIB}
local key, meta = KEYS[1], KEYS[2]
if redis.call('EXISTS', key) == 0 then return {0, 0} end
local len = redis.call('XLEN', key)
local dropped = 0
if len > 0 then
  local first = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)[1][1]
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    local name
    for i = 1, #g, 2 do if g[i] == 'name' then name = g[i + 1] end end
    dropped = dropped + #redis.call('XPENDING', key, name, first, '+', 1000000)
  end
end
local n = redis.call('XTRIM', key, 'MAXLEN', 0)
redis.call('HINCRBY', meta, 'purge', n)
if dropped > 0 then redis.call('HINCRBY', meta, 'droppedPending', dropped) end
return {n, dropped}
`;

/**
 * KEYS: stream. ARGV: SCAN cursor, MATCH pattern of the stream's dedupe
 * keys. Deletes one SCAN page of them; returns the next cursor. Called
 * until the cursor is "0", one short call at a time.
 */
const DROP_OPIDS_SCRIPT = `
local r = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', 1000)
for _, k in ipairs(r[2]) do redis.call('DEL', k) end
return r[1]
`;

/** KEYS: stream. ARGV: the group's last-delivered id. Counts the entries after it. */
const LAG_SCRIPT = `
local after, n = '(' .. ARGV[1], 0
while true do
  local r = redis.call('XRANGE', KEYS[1], after, '+', 'COUNT', 1000)
  n = n + #r
  if #r < 1000 then return n end
  after = '(' .. r[#r][1]
end
`;

const TRIM = new LuaScript(TRIM_SCRIPT);
const PURGE = new LuaScript(PURGE_SCRIPT);
const DROP_OPIDS = new LuaScript(DROP_OPIDS_SCRIPT);
const LAG = new LuaScript(LAG_SCRIPT);

/** What `RedisAdmin` needs of the backend. */
export interface RedisAdminHost {
  /** The connection every command goes through (with the command timeout; routed by slot on a cluster). */
  commands: CommandSender;
  /** The Redis key of a stream. */
  key(stream: string): string;
}

/** Stream administration of `RedisBackend`. */
export class RedisAdmin {
  #host: RedisAdminHost;
  #removed: RemovedCounts = { trim: 0, retention: 0, purge: 0 };

  constructor(host: RedisAdminHost) {
    this.#host = host;
  }

  /** Entries removed since start, by cause. */
  get removed(): RemovedCounts {
    return { ...this.#removed };
  }

  /** Counts entries an add's own maxLen trimmed away (the add script counted them in the meta hash). */
  countTrimmed(n: number): void {
    this.#removed.trim += n;
  }

  /** `StreamBackend.trim`: one script call on the stream's slot. */
  async trim(stream: string, options: TrimOptions): Promise<number> {
    checkStream(stream);
    const t = checkTrim(options);
    const key = this.#host.key(stream);
    const ageCut = t.maxAgeMs === undefined ? "" : String(Math.max(0, Date.now() - t.maxAgeMs));
    try {
      const [n] = (await TRIM.run(this.#host.commands, {
        keys: [key, `${key}:meta`],
        args: [t.maxLen === undefined ? "" : String(t.maxLen), ageCut, t.policy ?? "", t.cause],
      })) as [number, number];
      this.#removed[t.cause] += n;
      return n;
    } catch (e) {
      throw toBackendError(e, `trim stream ${JSON.stringify(stream)}`);
    }
  }

  /** `StreamBackend.purge`: the entries in one script call, then the stream's opIds. */
  async purge(stream: string): Promise<number> {
    checkStream(stream);
    const key = this.#host.key(stream);
    try {
      const [n] = (await PURGE.run(this.#host.commands, { keys: [key, `${key}:meta`], args: [] })) as [number, number];
      this.#removed.purge += n;
      await this.#dropOpIds(key);
      return n;
    } catch (e) {
      throw toBackendError(e, `purge stream ${JSON.stringify(stream)}`);
    }
  }

  /** `StreamBackend.deleteStream`: the stream key (with its groups), its meta hash and its opIds. */
  async deleteStream(stream: string): Promise<boolean> {
    checkStream(stream);
    const key = this.#host.key(stream);
    try {
      const existed = (await this.#host.commands.sendCommand<number>(["DEL", key])) === 1;
      await this.#host.commands.sendCommand<number>(["DEL", `${key}:meta`]);
      await this.#dropOpIds(key);
      return existed;
    } catch (e) {
      throw toBackendError(e, `delete stream ${JSON.stringify(stream)}`);
    }
  }

  /** `StreamBackend.setRetention`: kept as JSON in the stream's meta hash. */
  async setRetention(stream: string, retention: Retention | undefined): Promise<void> {
    checkStream(stream);
    const r = retention === undefined ? undefined : checkRetention(retention);
    const meta = `${this.#host.key(stream)}:meta`;
    try {
      if (r === undefined) await this.#host.commands.sendCommand(["HDEL", meta, "ownRetention"]);
      else await this.#host.commands.sendCommand(["HSET", meta, "ownRetention", JSON.stringify(r)]);
    } catch (e) {
      throw toBackendError(e, `set the retention of stream ${JSON.stringify(stream)}`);
    }
  }

  /** `info` with what was removed and the stream's own retention, read from its meta hash. */
  async withStats(stream: string, info: Promise<StreamInfo>): Promise<StreamInfo> {
    const meta = `${this.#host.key(stream)}:meta`;
    const [base, fields] = await Promise.all([
      info,
      this.#host.commands.sendCommand<(string | null)[]>(["HMGET", meta, "trim", "retention", "purge", "droppedPending", "ownRetention"]).catch((e) => {
        throw toBackendError(e, `info of stream ${JSON.stringify(stream)}`);
      }),
    ]);
    const own = fields[4];
    const n = (v: string | null | undefined) => (v == null ? 0 : Number(v));
    const out: StreamInfo = { ...base, removed: { trim: n(fields[0]), retention: n(fields[1]), purge: n(fields[2]) }, droppedPending: n(fields[3]) };
    if (own != null) out.retention = JSON.parse(own) as Retention;
    return out;
  }

  /**
   * Groups with their lag: Redis 7's `XINFO GROUPS` lag where Redis knows
   * it, else (Redis 6, or after entries were removed past a group's
   * position) the entries after the group's position, counted.
   */
  async withLag(stream: string, groups: Promise<GroupInfo[]>): Promise<GroupInfo[]> {
    const list = await groups;
    if (list.length === 0) return list;
    const key = this.#host.key(stream);
    try {
      const raw = await this.#host.commands.sendCommand<unknown[][]>(["XINFO", "GROUPS", key]);
      const lags = new Map<string, number | null>();
      for (const g of raw) {
        const f = new Map<string, unknown>();
        for (let i = 0; i + 1 < g.length; i += 2) f.set(String(g[i]), g[i + 1]);
        lags.set(String(f.get("name")), typeof f.get("lag") === "number" ? (f.get("lag") as number) : null);
      }
      // Redis counts entries removed before the group read them as lag still: past the first entry, count instead.
      const first = await this.#host.commands.sendCommand<[string, unknown][]>(["XRANGE", key, "-", "+", "COUNT", "1"]);
      const firstId = first.length === 0 ? undefined : String(first[0]![0]);
      return await Promise.all(list.map(async (g) => {
        const known = lags.get(g.name);
        const trusted = typeof known === "number" && (firstId === undefined ? known === 0 : compareEntryIds(g.lastDeliveredId, firstId) >= 0);
        const lag = trusted ? known! : Number(await LAG.run(this.#host.commands, { keys: [key], args: [g.lastDeliveredId] }));
        return { ...g, lag };
      }));
    } catch (e) {
      throw toBackendError(e, `group info of stream ${JSON.stringify(stream)}`);
    }
  }

  async #dropOpIds(key: string): Promise<void> {
    const pattern = `${key.replace(/[*?[\]\\]/g, "\\$&")}:op:*`;
    let cursor = "0";
    do {
      cursor = String(await DROP_OPIDS.run(this.#host.commands, { keys: [key], args: [cursor, pattern] }));
    } while (cursor !== "0");
  }
}
