/**
 * Batched adds of `RedisBackend`. Each add used to be its own EVALSHA of the
 * dedupe script: about 10 µs of node-redis work in ampd (command encoding,
 * reply parsing, a promise) and ~10 µs of Lua set-up in Redis, per message.
 * Here the adds of one event-loop turn are queued per stream and sent as one
 * `ADD_BATCH_SCRIPT` call per stream (chunked, so one script stays short),
 * which checks each entry's opId and XADDs it in arrival order and answers
 * every entry's id, duplicate flag or error. Small messages travel joined
 * in one binary argument (node-redis writes each Buffer argument
 * separately); large ones each as their own, uncopied.
 *
 * What stays as it was: adds of one stream are stored in the order they
 * arrived (one connection; batches of a stream go out in order and are
 * never re-sent, entries in order inside a batch); an opId is stored once, atomically, also when it
 * comes twice in one batch; an entry Redis refuses (OOM, WRONGTYPE) fails
 * alone; a failure of the whole command (connection lost, timeout) fails
 * exactly the entries of that batch, each with the same backend error.
 *
 * @module
 */
import { ErrorReply } from "redis";
import type { AddResult, EntryHeaders, NewEntry } from "../../sdk/backend/types.ts";
import { asBuffer, toBackendError } from "./_redis_reply.ts";
import type { CommandSender, RawReply } from "./_redis_reply.ts";
import { ADD_BATCH_SCRIPT } from "./_redis_scripts.ts";

/** Most entries per script call: a script blocks Redis while it runs (~5–10 µs per entry). */
export const MAX_BATCH_ENTRIES = 256;
/** Most message bytes per script call (one entry always goes, however large). */
export const MAX_BATCH_BYTES = 2 * 1024 * 1024;

/** Average message size from which a batch's messages go as arguments of their own. */
export const JOIN_BELOW = 4096;

/** ARGV values per entry of `ADD_BATCH_SCRIPT`. */
const VALUES_PER_ENTRY = 9;

interface QueuedAdd {
  opKey: string;
  maxLen: string;
  headers: EntryHeaders;
  msg: Uint8Array;
  resolve: (r: AddResult) => void;
  reject: (e: Error) => void;
}

/** A stream's queued adds. */
interface StreamQueue {
  stream: string;
  key: string;
  adds: QueuedAdd[];
}

/** Options of `AddBatcher`. */
export interface AddBatcherOptions {
  /** The main connection, with the command timeout. */
  commands: CommandSender;
  /** The dedupe window in ms (> 0). */
  windowMs: number;
  /** Called once per add answered as a duplicate. */
  onDuplicate: () => void;
  /**
   * With `--redis-wait`: resolves once the batch's writes to `key`'s node
   * reached the replicas, or rejects; the batch's adds are answered after it.
   */
  replicated?: (key: string) => Promise<void>;
  /** Called with how many entries a batch's maxLen trims removed (counted in the stream's meta hash too). */
  onTrimmed?: (n: number) => void;
}

/**
 * Queues idempotent adds and sends those of one event-loop turn as one
 * script call per stream.
 *
 * @example
 * ```ts
 * const adds = new AddBatcher({ commands: timed, windowMs: 600_000, onDuplicate: () => hits++ });
 * const [a, b] = await Promise.all([
 *   adds.add({ stream: "tasks", key: "ampbus:{tasks}" }, { entry: e1 }),
 *   adds.add({ stream: "tasks", key: "ampbus:{tasks}" }, { entry: e2, maxLen: 1000 }),
 * ]); // one EVALSHA
 * ```
 */
export class AddBatcher {
  #o: AddBatcherOptions;
  #window: string;
  /** Streams with queued adds, in the order their first add came. */
  #queues = new Map<string, StreamQueue>();
  #scheduled = false;

  constructor(options: AddBatcherOptions) {
    this.#o = options;
    this.#window = String(options.windowMs);
  }

  /** Queues one add; it is sent with the others of this turn. */
  add(target: { stream: string; key: string }, add: { entry: NewEntry; maxLen?: number }): Promise<AddResult> {
    const { headers, msg } = add.entry;
    let q = this.#queues.get(target.key);
    if (q === undefined) {
      q = { stream: target.stream, key: target.key, adds: [] };
      this.#queues.set(target.key, q);
    }
    const adds = q.adds;
    const p = new Promise<AddResult>((resolve, reject) => {
      adds.push({
        opKey: `${target.key}:op:${headers.opId}`,
        maxLen: add.maxLen === undefined ? "" : String(add.maxLen),
        headers,
        msg,
        resolve,
        reject,
      });
    });
    if (!this.#scheduled) {
      this.#scheduled = true;
      // After this turn's I/O callbacks: every add that arrived in this turn joins the batch.
      setImmediate(() => this.#flush());
    }
    return p;
  }

  #flush(): void {
    this.#scheduled = false;
    const queues = this.#queues;
    this.#queues = new Map();
    for (const q of queues.values()) {
      const adds = q.adds;
      for (let from = 0; from < adds.length;) {
        let to = from;
        let bytes = 0;
        while (to < adds.length && to - from < MAX_BATCH_ENTRIES && (to === from || bytes + adds[to]!.msg.length <= MAX_BATCH_BYTES)) {
          bytes += adds[to]!.msg.length;
          to++;
        }
        void this.#send(q, adds.slice(from, to));
        from = to;
      }
    }
  }

  async #send(q: StreamQueue, batch: QueuedAdd[]): Promise<void> {
    const keys: string[] = new Array(2 + batch.length);
    keys[0] = q.key;
    keys[1 + batch.length] = `${q.key}:meta`;
    let bytes = 0;
    for (const add of batch) bytes += add.msg.length;
    // Small messages joined in one argument (node-redis writes each Buffer argument
    // separately); from JOIN_BELOW bytes on average, apart (no copy).
    const joined = bytes < JOIN_BELOW * batch.length;
    const args: (string | Buffer)[] = new Array(2 + batch.length * VALUES_PER_ENTRY + (joined ? 1 : 0));
    args[0] = this.#window;
    args[1] = joined ? "joined" : "apart";
    const msgs: Uint8Array[] = joined ? new Array(batch.length) : [];
    let a = 2;
    for (let i = 0; i < batch.length; i++) {
      const add = batch[i]!;
      const h = add.headers;
      keys[1 + i] = add.opKey;
      args[a++] = add.maxLen;
      args[a++] = h.id;
      args[a++] = h.opId;
      args[a++] = h.type;
      args[a++] = h.sender;
      args[a++] = h.receiver;
      args[a++] = h.tier ?? "";
      args[a++] = h.expiresAt === undefined ? "" : String(h.expiresAt);
      if (joined) {
        args[a++] = String(add.msg.length);
        msgs[i] = add.msg;
      } else args[a++] = asBuffer(add.msg);
    }
    if (joined) args[a] = Buffer.concat(msgs, bytes);
    const what = `add to stream ${JSON.stringify(q.stream)}`;
    let reply: RawReply[];
    try {
      // EVAL, not EVALSHA: with EVALSHA, a batch answered NOSCRIPT (first use, Redis restarted or
      // its script cache flushed) is re-sent after batches sent behind it may have run, which
      // would store its entries after theirs. EVAL never fails that way; Redis caches the
      // compiled script by its SHA1, so the ~2 KB source costs one hash per batch.
      reply = await this.#o.commands.sendCommand<RawReply[]>(["EVAL", ADD_BATCH_SCRIPT, String(keys.length), ...keys, ...args]);
    } catch (e) {
      const err = toBackendError(e, what);
      for (const add of batch) add.reject(err);
      return;
    }
    const trimmed = Number(reply[2 * batch.length] ?? 0);
    if (trimmed > 0) this.#o.onTrimmed?.(trimmed);
    if (this.#o.replicated !== undefined) {
      try {
        await this.#o.replicated(q.key);
      } catch (e) {
        for (const add of batch) add.reject(e as Error);
        return;
      }
    }
    for (let i = 0; i < batch.length; i++) {
      const add = batch[i]!;
      const flag = Number(reply[2 * i]);
      const value = String(reply[2 * i + 1]);
      if (flag === 2) add.reject(toBackendError(new ErrorReply(value), what));
      else {
        const duplicate = flag === 1;
        if (duplicate) this.#o.onDuplicate();
        add.resolve({ entryId: value, duplicate });
      }
    }
  }
}
