/**
 * `MemoryBackend`: in-process streams with the semantics of Redis Streams,
 * for when no Redis is reachable (and for tests). Nothing survives a restart.
 * It lives in `sdk/`, not beside the Redis backend in `sidecar/`, because
 * `createLocalBus()` runs it in browsers and edge workers too: it uses no
 * runtime module.
 *
 * @module
 */
import {
  checkClaim,
  checkConsumerRef,
  checkGroupIds,
  checkGroupRef,
  checkGroupStart,
  checkHeaders,
  checkMaxLen,
  checkMs,
  checkName,
  checkPending,
  checkRead,
  checkReadGroup,
  checkRetention,
  checkStream,
  checkTrim,
  limitCut,
  minId,
  nackIdleMs,
  nextId,
  parseEntryId,
} from "./args.ts";
import { blockRead, disarmRead } from "./blocked_read.ts";
import { MemGroup } from "./_memory_groups.ts";
import { collect, gather, MemStream } from "./_memory_stream.ts";
import type { WaitCursor, Waiter } from "./_memory_stream.ts";
import {
  BackendUnavailableError,
  DEFAULT_CLAIM_TIMEOUT_MS,
  DEFAULT_DEDUPE_WINDOW_MS,
} from "./types.ts";
import type {
  AddOptions,
  AddResult,
  BackendInfo,
  BackendState,
  ClaimOptions,
  ConsumerRef,
  CreateGroupOptions,
  CreateGroupResult,
  GroupEntry,
  GroupInfo,
  GroupRef,
  NackOptions,
  NewEntry,
  PendingInfo,
  PendingOptions,
  ReadGroupOptions,
  ReadCursor,
  ReadOptions,
  RemovedCounts,
  Retention,
  StreamBackend,
  StreamBatch,
  StreamInfo,
  TrimOptions,
} from "./types.ts";

/**
 * Options of `new MemoryBackend()`.
 *
 * @example
 * ```ts
 * import { MemoryBackend, type MemoryBackendOptions } from "@ampbus/ampbus";
 *
 * const options: MemoryBackendOptions = { dedupeWindowMs: 0, claimTimeoutMs: 5_000 }; // no deduplication
 * const backend = new MemoryBackend(options);
 * await backend.close();
 * ```
 */
export interface MemoryBackendOptions {
  /** How long an opId is remembered per stream. 0 turns deduplication off. Defaults to 10 minutes. */
  dedupeWindowMs?: number;
  /** The default `minIdleMs` of `claim()`, and what `nack()` counts with. Defaults to 30 000. */
  claimTimeoutMs?: number;
}

/**
 * Streams held in process memory. Entry ids are Redis-style `ms-seq` and
 * strictly increasing per stream even when the clock steps back. Messages
 * are stored as given (no copy): do not mutate a `NewEntry` after adding it.
 *
 * @example
 * ```ts
 * import { MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend({ dedupeWindowMs: 60_000 });
 * const headers = { id: "m1", opId: "op-1", type: "task", sender: "coder", receiver: "tester" };
 * const { entryId } = await backend.add("tasks", { headers, msg: new Uint8Array([1]) });
 * const [batch] = await backend.read([{ stream: "tasks", after: "0" }], { block: 5000 });
 * if (batch.entries[0].entryId !== entryId) throw new Error("expected the entry just added");
 * await backend.close(); // stops the dedupe sweep timer
 * ```
 */
export class MemoryBackend implements StreamBackend {
  /** Always `"memory"`. */
  readonly kind = "memory" as const;
  #streams = new Map<string, MemStream>();
  /** Consumer groups by stream, then by name: kept here, beside the streams they read. */
  #groups = new Map<string, Map<string, MemGroup>>();
  #windowMs: number;
  #claimTimeoutMs: number;
  #state: BackendState = "ready";
  #dedupeHits = 0;
  #removed: RemovedCounts = { trim: 0, retention: 0, purge: 0 };
  #listeners = new Set<(state: BackendState) => void>();
  #sweepTimer: ReturnType<typeof setInterval> | undefined;

  /** Empty streams; deduplicating over 10 minutes and claiming after 30 s unless `options` say otherwise. */
  constructor(options: MemoryBackendOptions = {}) {
    this.#windowMs = options.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS;
    this.#claimTimeoutMs = checkMs("claimTimeoutMs", options.claimTimeoutMs) ?? DEFAULT_CLAIM_TIMEOUT_MS;
    if (this.#windowMs > 0) {
      // Streams that stop receiving adds are swept here, so dedupe memory stays bounded.
      const every = Math.max(1000, Math.min(this.#windowMs, 60_000));
      this.#sweepTimer = setInterval(() => this.#sweepAll(), every);
      (this.#sweepTimer as { unref?: () => void }).unref?.();
    }
  }

  /** Appends `entry` unless its `opId` was added to `stream` within the dedupe window (`StreamBackend.add`). */
  add(stream: string, entry: NewEntry, options?: AddOptions): Promise<AddResult> {
    if (this.#state === "closed") return Promise.reject(closedError());
    try {
      checkStream(stream);
      checkHeaders(entry.headers);
      if (options?.maxLen !== undefined) checkMaxLen(options.maxLen);
    } catch (e) {
      return Promise.reject(e);
    }
    const s = this.#stream(stream);
    const now = Date.now();
    const opId = entry.headers.opId;
    if (this.#windowMs > 0) {
      s.sweep(now);
      const firstId = s.dedupe.get(opId);
      if (firstId !== undefined) {
        this.#dedupeHits++;
        return Promise.resolve({ entryId: firstId, duplicate: true });
      }
    }
    let ms = now;
    let seq = 0;
    if (ms <= s.lastMs) {
      ms = s.lastMs;
      seq = s.lastSeq + 1;
    }
    s.lastMs = ms;
    s.lastSeq = seq;
    const entryId = `${ms}-${seq}`;
    s.entries.push({ entryId, headers: entry.headers, msg: entry.msg });
    s.ms.push(ms);
    s.seq.push(seq);
    if (this.#windowMs > 0) {
      s.dedupe.set(opId, entryId);
      s.dqOp.push(opId);
      s.dqId.push(entryId);
      s.dqExp.push(now + this.#windowMs);
    }
    if (options?.maxLen !== undefined) {
      // The publisher's own bound: the oldest entries go whatever their groups hold, counted under trim.
      const gone = s.trimTo(options.maxLen);
      s.removed.trim += gone;
      this.#removed.trim += gone;
    }
    if (s.waiters !== null && s.waiters.size > 0) this.#wake(s);
    return Promise.resolve({ entryId, duplicate: false });
  }

  /** Reads entries after each cursor; with `block`, waits for the first add to any of them (`StreamBackend.read`). */
  read(cursors: readonly ReadCursor[], options?: ReadOptions): Promise<StreamBatch[]> {
    if (this.#state === "closed") return Promise.reject(closedError());
    let checked;
    try {
      checked = checkRead(cursors, options);
    } catch (e) {
      return Promise.reject(e);
    }
    const { count, block } = checked;
    if (block === undefined) {
      const out: StreamBatch[] = [];
      for (const c of cursors) {
        if (c.after === "$") continue;
        const s = this.#streams.get(c.stream);
        if (s === undefined) continue;
        const { ms, seq } = parseEntryId(c.after);
        const entries = collect(s, s.indexAfter(ms, seq), count);
        if (entries !== undefined) out.push({ stream: c.stream, entries });
      }
      return Promise.resolve(out);
    }
    // Blocking: resolve "$" now, so entries added from here on are seen.
    const wc: WaitCursor[] = [];
    for (const c of cursors) {
      const s = this.#stream(c.stream);
      const p = c.after === "$" ? { ms: s.lastMs, seq: s.lastSeq } : parseEntryId(c.after);
      wc.push({ stream: c.stream, s, ms: p.ms, seq: p.seq });
    }
    const now = gather(wc, count);
    if (now.length > 0) return Promise.resolve(now);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.resolve([]);
    return blockRead(wc, { count, block, signal }, {
      register: (w) => {
        for (const c of wc) (c.s.waiters ??= new Set()).add(w);
      },
      finish: (w, batches) => this.#finish(w, batches),
    });
  }

  /** Drops the oldest entries past the limits, under the interest policy never one a group still needs (`StreamBackend.trim`). */
  trim(stream: string, options: TrimOptions): Promise<number> {
    if (this.#state === "closed") return Promise.reject(closedError());
    let t;
    try {
      checkStream(stream);
      t = checkTrim(options);
    } catch (e) {
      return Promise.reject(e);
    }
    const s = this.#streams.get(stream);
    if (s === undefined || s.length === 0) return Promise.resolve(0);
    const policy = t.policy ?? s.retention?.policy ?? "interest";
    let cut = limitCut({ length: s.length, last: { ms: s.lastMs, seq: s.lastSeq }, maxLen: t.maxLen, maxAgeMs: t.maxAgeMs, now: Date.now(), nth: (n) => ({ ms: s.ms[s.start + n]!, seq: s.seq[s.start + n]! }) });
    if (cut === undefined) return Promise.resolve(0);
    const groups = this.#groups.get(stream);
    if (policy === "interest") {
      for (const g of groups?.values() ?? []) cut = minId(minId(cut, g.firstPending()), nextId({ ms: g.lastMs, seq: g.lastSeq }));
    }
    const removed = s.indexAtOrAfter(cut!.ms, cut!.seq) - s.start;
    if (removed <= 0) return Promise.resolve(0);
    const first = { ms: s.ms[s.start]!, seq: s.seq[s.start]! };
    if (policy === "limits") for (const g of groups?.values() ?? []) s.droppedPending += g.pendingIn(first, cut!);
    s.trimTo(s.length - removed);
    s.removed[t.cause] += removed;
    this.#removed[t.cause] += removed;
    return Promise.resolve(removed);
  }

  /** Removes every entry and opId of `stream`; its groups stay (`StreamBackend.purge`). */
  async purge(stream: string): Promise<number> {
    this.#checkOpen();
    checkStream(stream);
    const s = this.#streams.get(stream);
    if (s === undefined) return 0;
    const removed = s.length;
    if (removed > 0) {
      const first = { ms: s.ms[s.start]!, seq: s.seq[s.start]! };
      for (const g of this.#groups.get(stream)?.values() ?? []) s.droppedPending += g.pendingIn(first, nextId({ ms: s.lastMs, seq: s.lastSeq }));
    }
    s.trimTo(0);
    s.clearDedupe();
    s.removed.purge += removed;
    this.#removed.purge += removed;
    return removed;
  }

  /** Deletes `stream` with its groups, opIds, retention and counts (`StreamBackend.deleteStream`). */
  async deleteStream(stream: string): Promise<boolean> {
    this.#checkOpen();
    checkStream(stream);
    const s = this.#streams.get(stream);
    if (s === undefined) return false;
    this.#streams.delete(stream);
    this.#groups.delete(stream);
    if (s.waiters !== null) for (const w of [...s.waiters]) this.#finish(w, []);
    return true;
  }

  /** Sets or clears the stream's own retention (`StreamBackend.setRetention`). */
  async setRetention(stream: string, retention: Retention | undefined): Promise<void> {
    this.#checkOpen();
    checkStream(stream);
    const r = retention === undefined ? undefined : checkRetention(retention);
    if (r === undefined && !this.#streams.has(stream)) return;
    this.#stream(stream).retention = r;
  }

  /** Names of the streams that exist, sorted; at most `limit` (default 10 000). */
  streams(options: { limit?: number } = {}): Promise<string[]> {
    if (this.#state === "closed") return Promise.reject(closedError());
    return Promise.resolve([...this.#streams.keys()].sort().slice(0, options.limit ?? 10_000));
  }

  /** Length and first/last entry id of `stream` (0 and nulls when it does not exist). */
  info(stream: string): Promise<StreamInfo> {
    if (this.#state === "closed") return Promise.reject(closedError());
    try {
      checkStream(stream);
    } catch (e) {
      return Promise.reject(e);
    }
    const s = this.#streams.get(stream);
    if (s === undefined) {
      return Promise.resolve({ stream, length: 0, firstEntryId: null, lastEntryId: null, removed: { trim: 0, retention: 0, purge: 0 }, droppedPending: 0 });
    }
    const info: StreamInfo = {
      stream,
      length: s.length,
      firstEntryId: s.length === 0 ? null : s.entries[s.start]!.entryId,
      lastEntryId: s.length === 0 ? null : s.entries[s.entries.length - 1]!.entryId,
      removed: { ...s.removed },
      droppedPending: s.droppedPending,
    };
    if (s.retention !== undefined) info.retention = { ...s.retention };
    return Promise.resolve(info);
  }

  /** Creates `ref.group` on `ref.stream` from `options.from` (default `"$"`); idempotent (`StreamBackend.createGroup`). */
  async createGroup(ref: GroupRef, options?: CreateGroupOptions): Promise<CreateGroupResult> {
    const { stream, group } = ref;
    this.#checkOpen();
    checkGroupRef(ref);
    const from = checkGroupStart(options?.from);
    const s = this.#stream(stream);
    if (this.#groups.get(stream)?.has(group)) return { created: false };
    const p = from === "$" ? { ms: s.lastMs, seq: s.lastSeq } : parseEntryId(from);
    this.#groupsOf(stream).set(group, new MemGroup(p.ms, p.seq));
    return { created: true };
  }

  /** Delivers new entries of the group to `ref.consumer`, recreating a missing group from `"0"` (`StreamBackend.readGroup`). */
  async readGroup(ref: ConsumerRef, options?: ReadGroupOptions): Promise<GroupEntry[]> {
    const { stream, group, consumer } = ref;
    this.#checkOpen();
    const { count, block, signal, deadline } = checkReadGroup(ref, options);
    for (;;) {
      if (this.#state === "closed") return [];
      const s = this.#stream(stream);
      let g = this.#groups.get(stream)?.get(group);
      if (g === undefined) {
        // As RedisBackend after NOGROUP: recreate from "0" so nothing added since is skipped.
        g = new MemGroup(0, 0);
        this.#groupsOf(stream).set(group, g);
      }
      const got = g.deliver(s, { consumer, count, now: Date.now() });
      if (got.length > 0 || block === undefined) return got;
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return [];
      // Wait for any entry after the position; another consumer may take it first, then wait again.
      await this.read([{ stream, after: `${g.lastMs}-${g.lastSeq}` }], { count: 1, block: left, signal });
    }
  }

  /** Removes entries from the group's pending list; returns how many were pending. */
  async ack(ref: GroupRef, entryIds: readonly string[]): Promise<number> {
    const ids = this.#checkIds(ref, entryIds);
    return this.#group(ref)?.g.ack(ids) ?? 0;
  }

  /** Makes `options.entryIds` that `ref.consumer` holds claimable after `options.delayMs` (default 0) (`StreamBackend.nack`). */
  async nack(ref: ConsumerRef, options: NackOptions): Promise<number> {
    const ids = this.#checkIds(ref, options.entryIds);
    checkName("consumer", ref.consumer);
    const idleMs = nackIdleMs(options, this.#claimTimeoutMs);
    const at = this.#group(ref);
    return at?.g.touch(at.s, { consumer: ref.consumer, ids, idleMs, now: Date.now() }) ?? 0;
  }

  /** Resets the idle time of entries `ref.consumer` still holds; returns how many. */
  async extend(ref: ConsumerRef, entryIds: readonly string[]): Promise<number> {
    const ids = this.#checkIds(ref, entryIds);
    checkName("consumer", ref.consumer);
    const at = this.#group(ref);
    return at?.g.touch(at.s, { consumer: ref.consumer, ids, idleMs: 0, now: Date.now() }) ?? 0;
  }

  /** Moves entries idle at least `minIdleMs` (default the claim timeout) to `ref.consumer` (`StreamBackend.claim`). */
  async claim(ref: ConsumerRef, options?: ClaimOptions): Promise<GroupEntry[]> {
    this.#checkOpen();
    const { minIdleMs, count } = checkClaim(ref, { options, claimTimeoutMs: this.#claimTimeoutMs });
    const at = this.#group(ref);
    return at?.g.claim(at.s, { consumer: ref.consumer, minIdleMs, count, now: Date.now() }) ?? [];
  }

  /** Pending entries of the group, oldest id first, filtered by `options`. */
  async pending(ref: GroupRef, options?: PendingOptions): Promise<PendingInfo[]> {
    this.#checkOpen();
    const filter = checkPending(ref, options);
    return this.#group(ref)?.g.pending(filter, Date.now()) ?? [];
  }

  /** The groups of `stream`, by name, with their consumers. */
  async groupInfo(stream: string): Promise<GroupInfo[]> {
    this.#checkOpen();
    checkStream(stream);
    const groups = this.#groups.get(stream);
    if (groups === undefined) return [];
    const now = Date.now();
    const s = this.#streams.get(stream);
    return [...groups.keys()].sort().map((name) => groups.get(name)!.info(name, now, s));
  }

  /** Removes `ref.consumer` from the group, dropping its pending entries; returns how many it held. */
  async deleteConsumer(ref: ConsumerRef): Promise<number> {
    this.#checkOpen();
    checkConsumerRef(ref);
    return this.#group(ref)?.g.deleteConsumer(ref.consumer) ?? 0;
  }

  /** State and counters; `reconnects` is always 0 (there is nothing to reconnect to). */
  backendInfo(): BackendInfo {
    return { kind: "memory", state: this.#state, dedupeHits: this.#dedupeHits, reconnects: 0, removed: { ...this.#removed } };
  }

  /** Calls `listener` on state changes (a memory backend only ever goes to `closed`); returns the remover. */
  onStateChange(listener: (state: BackendState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Drops every stream and group, stops the sweep timer and resolves blocked reads with no entries. */
  close(): Promise<void> {
    if (this.#state === "closed") return Promise.resolve();
    this.#state = "closed";
    clearInterval(this.#sweepTimer);
    for (const s of this.#streams.values()) {
      if (s.waiters === null) continue;
      for (const w of [...s.waiters]) this.#finish(w, []);
    }
    this.#streams.clear();
    this.#groups.clear();
    for (const l of this.#listeners) l("closed");
    return Promise.resolve();
  }

  #stream(name: string): MemStream {
    let s = this.#streams.get(name);
    if (s === undefined) {
      s = new MemStream();
      this.#streams.set(name, s);
    }
    return s;
  }

  #groupsOf(stream: string): Map<string, MemGroup> {
    let m = this.#groups.get(stream);
    if (m === undefined) {
      m = new Map();
      this.#groups.set(stream, m);
    }
    return m;
  }

  #group(ref: GroupRef): { s: MemStream; g: MemGroup } | undefined {
    const s = this.#streams.get(ref.stream);
    const g = this.#groups.get(ref.stream)?.get(ref.group);
    return g === undefined || s === undefined ? undefined : { s, g };
  }

  #checkOpen(): void {
    if (this.#state === "closed") throw closedError();
  }

  #checkIds(ref: GroupRef, entryIds: readonly string[]): string[] {
    this.#checkOpen();
    return checkGroupIds(ref, entryIds);
  }

  #wake(s: MemStream): void {
    for (const w of [...s.waiters!]) {
      const batches = gather(w.cursors, w.count);
      if (batches.length > 0) this.#finish(w, batches);
    }
  }

  #finish(w: Waiter, batches: StreamBatch[]): void {
    disarmRead(w);
    for (const c of w.cursors) c.s.waiters?.delete(w);
    w.resolve(batches);
  }

  #sweepAll(): void {
    const now = Date.now();
    for (const s of this.#streams.values()) s.sweep(now);
  }
}

function closedError(): BackendUnavailableError {
  return new BackendUnavailableError("memory backend is closed");
}
