/**
 * The live view's backfill: the last entries of the streams a watcher's
 * filter names, read when it connects (and when it asks again), so that the
 * page starts with what just happened instead of a blank table.
 *
 * The backend interface reads forward only, so the tail of a stream is found
 * by bisecting on entry-id time: a read of `k + 1` entries after a time says
 * whether at least `k + 1` entries follow it. Some forty short reads find the
 * start of the last `k` entries of a stream of any length; the entries are
 * then read forward from there. When a filter on sender, receiver, type or
 * tier passes few of them, the window grows fourfold, up to
 * `MAX_SCANNED` entries per stream.
 *
 * @module
 */
import { compareEntryIds, parseEntryId } from "../../sdk/backend/args.ts";
import { isExpired } from "../../sdk/backend/headers.ts";
import type { StreamBackend, StreamEntry, StreamInfo } from "../../sdk/backend/types.ts";
import { pool } from "./_pool.ts";
import { FilterMatcher, type MirrorFilter } from "./mirror_filter.ts";

/**
 * Entries a watcher is sent from the past when its URL has no `backfill`: 0,
 * so that scripts see only what is added; the page asks for 200.
 */
export const DEFAULT_BACKFILL = 0;
/** Most entries one backfill sends: 2000. */
export const MAX_BACKFILL = 2000;
/** Most streams one backfill reads (the most recently written of those the filter names): 100. */
export const MAX_BACKFILL_STREAMS = 100;
/** Most entries read from one stream to find the last ones that pass a filter. */
const MAX_SCANNED = 10_000;
/** Most bytes of messages one backfill sends: 8 MiB (older entries past it are left out). */
const MAX_BACKFILL_BYTES = 8 * 1024 * 1024;
/** Streams listed to choose from. */
const MAX_LISTED = 10_000;
/** Entries per forward read. */
const PAGE = 500;

/** One backfilled entry: where it is, and its stored bytes. */
export interface BackfillEntry {
  stream: string;
  entryId: string;
  bytes: Uint8Array;
}

/** The stream whose dead letters `stream` would hold (ampd's `<stream>.dlq`), if it is named so. */
function originOf(stream: string): string | undefined {
  return stream.endsWith(".dlq") && stream.length > 4 ? stream.slice(0, -4) : undefined;
}

/** True when `a`'s entry id is older than `b`'s (across streams: by time, then sequence). */
function older(a: { entryId: string }, b: { entryId: string }): number {
  return compareEntryIds(a.entryId, b.entryId);
}

/**
 * Where to read after so that at least `k` entries of `stream` follow (and
 * not many more): `"0"` when the stream holds at most `k`.
 */
async function tailStart(backend: StreamBackend, o: { stream: string; k: number; info: StreamInfo }): Promise<string> {
  const { stream, k, info } = o;
  if (info.length <= k || info.firstEntryId === null || info.lastEntryId === null) return "0";
  const atLeast = async (t: number): Promise<boolean> => {
    const [batch] = await backend.read([{ stream, after: `${t}-0` }], { count: k + 1 });
    return (batch?.entries.length ?? 0) > k;
  };
  // lo: at least k + 1 entries follow; hi: fewer do.
  let lo = parseEntryId(info.firstEntryId).ms - 1;
  let hi = parseEntryId(info.lastEntryId).ms;
  if (lo < 0) return "0";
  for (let i = 0; i < 60 && hi - lo > 1; i++) {
    const mid = Math.floor((lo + hi) / 2);
    if (await atLeast(mid)) lo = mid;
    else hi = mid;
  }
  return `${lo}-0`;
}

/** The last `n` entries of `stream` that pass `matcher` and have not expired, oldest first. */
async function lastOf(backend: StreamBackend, o: { stream: string; n: number; matcher: FilterMatcher; now: number }): Promise<StreamEntry[]> {
  const { stream, n, matcher, now } = o;
  const info = await backend.info(stream);
  if (info.length === 0) return [];
  let k = n;
  for (;;) {
    const start = await tailStart(backend, { stream, k, info });
    const kept: StreamEntry[] = [];
    let after = start;
    let scanned = 0;
    for (;;) {
      const [batch] = await backend.read([{ stream, after }], { count: PAGE });
      const entries = batch?.entries ?? [];
      for (const e of entries) {
        const h = e.headers;
        const origin = h.type === "dead-letter" ? originOf(stream) : undefined;
        if (isExpired(h, now) || !matcher.matches({ stream, origin, sender: h.sender, receiver: h.receiver, type: h.type, tier: h.tier })) continue;
        kept.push(e);
        if (kept.length > n) kept.shift();
      }
      scanned += entries.length;
      if (entries.length < PAGE || scanned >= MAX_SCANNED * 2) break;
      after = entries[entries.length - 1].entryId;
    }
    // Enough found, the whole stream read, or as far back as a backfill goes.
    if (kept.length >= n || start === "0" || k >= MAX_SCANNED) return kept;
    k = Math.min(k * 4, MAX_SCANNED);
  }
}

/**
 * The last `n` entries, over the streams `filter.stream` names (all streams
 * when it names none), that pass the filter, oldest first; at most
 * `MAX_BACKFILL_STREAMS` streams (the most recently written) and
 * `MAX_BACKFILL_BYTES` of messages.
 *
 * @example
 * ```ts
 * const entries = await backfill(backend, { filter: { stream: ["inbox.*"] }, n: 200 });
 * for (const e of entries) ws.sendText(mirror.frame(e));
 * ```
 */
export async function backfill(backend: StreamBackend, o: { filter: MirrorFilter; n: number }): Promise<BackfillEntry[]> {
  const n = Math.min(Math.max(0, Math.floor(o.n)), MAX_BACKFILL);
  if (n === 0) return [];
  const streamOnly = new FilterMatcher(o.filter.stream === undefined ? {} : { stream: o.filter.stream });
  const matcher = new FilterMatcher(o.filter);
  const names = (await backend.streams({ limit: MAX_LISTED })).filter((s) => streamOnly.matches({ stream: s, origin: originOf(s), sender: "", receiver: "", type: "" }));
  let streams = names;
  if (names.length > MAX_BACKFILL_STREAMS) {
    const infos = await pool(names, 8, (s) => backend.info(s));
    streams = infos.filter((i) => i.lastEntryId !== null).sort((a, b) => compareEntryIds(b.lastEntryId!, a.lastEntryId!)).slice(0, MAX_BACKFILL_STREAMS).map((i) => i.stream);
  }
  const now = Date.now();
  const perStream = await pool(streams, 4, async (stream) => (await lastOf(backend, { stream, n, matcher, now })).map((e) => ({ stream, entryId: e.entryId, bytes: e.msg })));
  const all = perStream.flat().sort(older);
  const out: BackfillEntry[] = [];
  let bytes = 0;
  for (let i = all.length - 1; i >= 0 && out.length < n; i--) {
    bytes += all[i].bytes.length;
    if (bytes > MAX_BACKFILL_BYTES) break;
    out.push(all[i]);
  }
  return out.reverse();
}
