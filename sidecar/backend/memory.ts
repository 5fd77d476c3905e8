/**
 * `MemoryBackend`: in-process streams with the semantics of Redis Streams,
 * for when no Redis is reachable (and for tests). Nothing survives a restart.
 *
 * @module
 */
import { checkMaxLen, checkRead, checkStream, parseEntryId } from "./_args.ts";
import {
  BackendUnavailableError,
  DEFAULT_DEDUPE_WINDOW_MS,
} from "./types.ts";
import type {
  AddOptions,
  AddResult,
  BackendInfo,
  BackendState,
  NewEntry,
  ReadCursor,
  ReadOptions,
  StreamBackend,
  StreamBatch,
  StreamEntry,
  StreamInfo,
  TrimOptions,
} from "./types.ts";

/** Options of `new MemoryBackend()`. */
export interface MemoryBackendOptions {
  /** How long an opId is remembered per stream. 0 turns deduplication off. Defaults to 10 minutes. */
  dedupeWindowMs?: number;
}

/** One stream: parallel arrays from `start` on; the slots before `start` are trimmed. */
class MemStream {
  entries: StreamEntry[] = [];
  ms: number[] = [];
  seq: number[] = [];
  start = 0;
  lastMs = 0;
  lastSeq = 0;
  waiters: Set<Waiter> | null = null;
  /** opId -> entry id, for opIds within the dedupe window. */
  dedupe = new Map<string, string>();
  // The same opIds in expiry order (the window is constant), swept from `dedupeHead`.
  // Parallel arrays rather than record objects: no allocation per add.
  dqOp: string[] = [];
  dqId: string[] = [];
  dqExp: number[] = [];
  dedupeHead = 0;

  get length(): number {
    return this.entries.length - this.start;
  }

  /** Index of the first entry after (ms, seq): a binary search. */
  indexAfter(ms: number, seq: number): number {
    const msA = this.ms;
    const seqA = this.seq;
    let lo = this.start;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = msA[mid]!;
      if (m < ms || (m === ms && seqA[mid]! <= seq)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Drops the oldest entries so at most `maxLen` remain; returns how many went. */
  trimTo(maxLen: number): number {
    const removed = this.length - maxLen;
    if (removed <= 0) return 0;
    this.start += removed;
    // Compacting when the dead prefix outgrows the live part keeps trimming O(1) amortized.
    if (this.start > 32 && this.start >= this.entries.length >>> 1) {
      this.entries = this.entries.slice(this.start);
      this.ms = this.ms.slice(this.start);
      this.seq = this.seq.slice(this.start);
      this.start = 0;
    }
    return removed;
  }

  /** Forgets expired opIds: afterwards every opId in `dedupe` is within the window. */
  sweep(now: number): void {
    const exp = this.dqExp;
    let h = this.dedupeHead;
    if (h >= exp.length || exp[h]! > now) return;
    const op = this.dqOp;
    const id = this.dqId;
    do {
      // An opId stored again after expiring has a newer queue slot: keep it.
      if (this.dedupe.get(op[h]!) === id[h]) this.dedupe.delete(op[h]!);
      h++;
    } while (h < exp.length && exp[h]! <= now);
    if (h > 32 && h >= exp.length >>> 1) {
      this.dqOp = op.slice(h);
      this.dqId = id.slice(h);
      this.dqExp = exp.slice(h);
      h = 0;
    }
    this.dedupeHead = h;
  }
}

interface WaitCursor {
  stream: string;
  s: MemStream;
  ms: number;
  seq: number;
}

/** A blocked read. */
interface Waiter {
  cursors: WaitCursor[];
  count: number;
  resolve: (batches: StreamBatch[]) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Streams held in process memory. Entry ids are Redis-style `ms-seq` and
 * strictly increasing per stream even when the clock steps back. Messages
 * are stored as given (no copy): do not mutate a `NewEntry` after adding it.
 *
 * @example
 * ```ts
 * const backend = new MemoryBackend({ dedupeWindowMs: 60_000 });
 * const { entryId } = await backend.add("tasks", { headers, msg });
 * const batches = await backend.read([{ stream: "tasks", after: "0" }], { block: 5000 });
 * ```
 */
export class MemoryBackend implements StreamBackend {
  readonly kind = "memory" as const;
  #streams = new Map<string, MemStream>();
  #windowMs: number;
  #state: BackendState = "ready";
  #dedupeHits = 0;
  #listeners = new Set<(state: BackendState) => void>();
  #sweepTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: MemoryBackendOptions = {}) {
    this.#windowMs = options.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS;
    if (this.#windowMs > 0) {
      // Streams that stop receiving adds are swept here, so dedupe memory stays bounded.
      const every = Math.max(1000, Math.min(this.#windowMs, 60_000));
      this.#sweepTimer = setInterval(() => this.#sweepAll(), every);
      (this.#sweepTimer as { unref?: () => void }).unref?.();
    }
  }

  add(stream: string, entry: NewEntry, options?: AddOptions): Promise<AddResult> {
    if (this.#state === "closed") return Promise.reject(closedError());
    try {
      checkStream(stream);
      if (options?.maxLen !== undefined) checkMaxLen(options.maxLen);
    } catch (e) {
      return Promise.reject(e);
    }
    let s = this.#streams.get(stream);
    if (s === undefined) {
      s = new MemStream();
      this.#streams.set(stream, s);
    }
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
    if (options?.maxLen !== undefined) s.trimTo(options.maxLen);
    if (s.waiters !== null && s.waiters.size > 0) this.#wake(s);
    return Promise.resolve({ entryId, duplicate: false });
  }

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
        collect(out, c.stream, s, s.indexAfter(ms, seq), count);
      }
      return Promise.resolve(out);
    }
    // Blocking: resolve "$" now, so entries added from here on are seen.
    const wc: WaitCursor[] = [];
    for (const c of cursors) {
      let s = this.#streams.get(c.stream);
      if (s === undefined) {
        s = new MemStream();
        this.#streams.set(c.stream, s);
      }
      const p = c.after === "$" ? { ms: s.lastMs, seq: s.lastSeq } : parseEntryId(c.after);
      wc.push({ stream: c.stream, s, ms: p.ms, seq: p.seq });
    }
    const now = gather(wc, count);
    if (now.length > 0) return Promise.resolve(now);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.resolve([]);
    return new Promise<StreamBatch[]>((resolve) => {
      const w: Waiter = { cursors: wc, count, resolve, timer: undefined, signal, onAbort: undefined };
      w.timer = setTimeout(() => this.#finish(w, []), block);
      if (signal !== undefined) {
        w.onAbort = () => this.#finish(w, []);
        signal.addEventListener("abort", w.onAbort, { once: true });
      }
      for (const c of wc) (c.s.waiters ??= new Set()).add(w);
    });
  }

  trim(stream: string, options: TrimOptions): Promise<number> {
    if (this.#state === "closed") return Promise.reject(closedError());
    try {
      checkStream(stream);
      checkMaxLen(options.maxLen);
    } catch (e) {
      return Promise.reject(e);
    }
    const s = this.#streams.get(stream);
    return Promise.resolve(s === undefined ? 0 : s.trimTo(options.maxLen));
  }

  info(stream: string): Promise<StreamInfo> {
    if (this.#state === "closed") return Promise.reject(closedError());
    try {
      checkStream(stream);
    } catch (e) {
      return Promise.reject(e);
    }
    const s = this.#streams.get(stream);
    if (s === undefined || s.length === 0) {
      return Promise.resolve({ stream, length: 0, firstEntryId: null, lastEntryId: null });
    }
    return Promise.resolve({
      stream,
      length: s.length,
      firstEntryId: s.entries[s.start]!.entryId,
      lastEntryId: s.entries[s.entries.length - 1]!.entryId,
    });
  }

  backendInfo(): BackendInfo {
    return { kind: "memory", state: this.#state, dedupeHits: this.#dedupeHits, reconnects: 0 };
  }

  onStateChange(listener: (state: BackendState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): Promise<void> {
    if (this.#state === "closed") return Promise.resolve();
    this.#state = "closed";
    clearInterval(this.#sweepTimer);
    for (const s of this.#streams.values()) {
      if (s.waiters === null) continue;
      for (const w of [...s.waiters]) this.#finish(w, []);
    }
    this.#streams.clear();
    for (const l of this.#listeners) l("closed");
    return Promise.resolve();
  }

  #wake(s: MemStream): void {
    for (const w of [...s.waiters!]) {
      const batches = gather(w.cursors, w.count);
      if (batches.length > 0) this.#finish(w, batches);
    }
  }

  #finish(w: Waiter, batches: StreamBatch[]): void {
    clearTimeout(w.timer);
    if (w.onAbort !== undefined) w.signal!.removeEventListener("abort", w.onAbort);
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

function collect(out: StreamBatch[], stream: string, s: MemStream, from: number, count: number): void {
  const end = Math.min(from + count, s.entries.length);
  if (from < end) out.push({ stream, entries: s.entries.slice(from, end) });
}

function gather(cursors: readonly WaitCursor[], count: number): StreamBatch[] {
  const out: StreamBatch[] = [];
  for (const c of cursors) collect(out, c.stream, c.s, c.s.indexAfter(c.ms, c.seq), count);
  return out;
}
