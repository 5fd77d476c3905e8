/**
 * Shared pieces of the fault-injection suites: a tracker that kills every
 * process a test started (also when it fails), messages numbered by opId,
 * concurrent publishing that records what the bus acknowledged, an
 * idempotent handler that dedupes by opId, polling with a "did not hang"
 * bound, and the figures line each test prints.
 *
 * @example
 * ```ts
 * const procs = new Processes();
 * afterEach(() => procs.disposeAll());
 * const redis = procs.track(await RedisServer.start());
 * const ampd = procs.track(await startAmpd(redis));
 * ```
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AISPMessage } from "../../sdk/envelope/envelope.ts";
import { createMessage } from "../../sdk/envelope/builder.ts";
import type { AmpClient } from "../../sdk/client/client.ts";
import type { GroupDelivery } from "../../sdk/client/group.ts";
import { Ampd, ROOT } from "../_helpers/ampd.ts";
import type { RedisServer } from "../_helpers/redis_server.ts";

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Something a test started and must stop. */
interface Disposable {
  dispose(): Promise<void> | void;
}

/** Everything one test started; `disposeAll()` stops it all, newest first, whatever failed. */
export class Processes {
  #items: Disposable[] = [];

  track<T extends Disposable>(item: T): T {
    this.#items.push(item);
    return item;
  }

  /** A fresh temporary directory, removed by `disposeAll()`. */
  tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.track({ dispose: () => rmSync(dir, { recursive: true, force: true }) });
    return dir;
  }

  async disposeAll(): Promise<void> {
    const items = this.#items.reverse();
    this.#items = [];
    for (const it of items) {
      try {
        await it.dispose();
      } catch {
        // keep stopping the rest
      }
    }
  }
}

/** Starts the compiled ampd on the Redis backend of `redis`, with `args` added. */
export function startAmpd(redis: RedisServer, options: { args?: string[]; socket?: string } = {}): Promise<Ampd> {
  return Ampd.start({
    socket: options.socket,
    args: ["--backend", "redis", "--redis", redis.url, "--log-level", "warn", ...(options.args ?? [])],
  });
}

/** Polls `cond` every 20 ms; throws naming `what` after `timeoutMs` (a bound against hangs, not a timing claim). */
export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(20);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Message number `i` of a run: opId `<run>-<i>`, the number in the payload, `pad` bytes of filler. */
export function numbered(run: string, i: number, options: { pad?: number; receiver?: string; expiresAt?: number } = {}): AISPMessage {
  return createMessage({
    type: "task",
    sender: "fault-publisher",
    receiver: options.receiver ?? "worker",
    opId: `${run}-${i}`,
    expiresAt: options.expiresAt,
    payload: options.pad ? { i, pad: "x".repeat(options.pad) } : { i },
  });
}

/** What a publishing run achieved. */
export interface PublishOutcome {
  /** opIds whose publish the bus acknowledged. */
  acked: Set<string>;
  /** Publishes answered `duplicate: true` (a retried publish that had been stored before). */
  duplicates: number;
  /** Publishes that failed (after the client's reconnect deadline). */
  failed: number;
}

/**
 * Publishes messages `0..n-1` of `run` to `stream` with `concurrency` in flight,
 * recording which ones the bus acknowledged. `onProgress` sees the count acknowledged so far.
 */
export async function publishAll(
  bus: AmpClient,
  stream: string,
  options: { run: string; n: number; concurrency?: number; pad?: number; onProgress?: (acked: number) => void },
): Promise<PublishOutcome> {
  const out: PublishOutcome = { acked: new Set(), duplicates: 0, failed: 0 };
  let next = 0;
  const worker = async () => {
    while (next < options.n) {
      const i = next++;
      const msg = numbered(options.run, i, { pad: options.pad });
      try {
        const r = await bus.streamAdd(stream, msg);
        if (r.duplicate) out.duplicates++;
        out.acked.add(msg.opId);
        options.onProgress?.(out.acked.size);
      } catch {
        out.failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 32 }, worker));
  return out;
}

/**
 * The idempotent side of a handler: remembers each opId it processed and
 * refuses a second processing. Shared by every consumer of a group, as a
 * database table keyed by opId would be.
 */
export class DedupeStore {
  /** opId -> consumer that processed it. */
  readonly processed = new Map<string, string>();
  /** Deliveries seen. */
  deliveries = 0;
  /** Deliveries with a delivery count above 1 (the bus redelivered them). */
  redelivered = 0;
  /** Deliveries the store refused because the opId was processed already. */
  dedupeHits = 0;
  /**
   * Of those, ones the bus delivered for the first time: a consumer's prefetched entries that
   * another consumer claimed and processed while the first one was held up (a figure, not a bug;
   * a second stored copy of an opId shows in the stream's length instead).
   */
  dedupeHitsOnFirstDelivery = 0;
  /** opIds whose ack succeeded. */
  readonly ackedOk = new Set<string>();

  /** Records one delivery; true when it is new work for `consumer`. */
  process(d: GroupDelivery, consumer: string): boolean {
    this.deliveries++;
    if (d.deliveries > 1) this.redelivered++;
    const opId = d.message.opId;
    if (this.processed.has(opId)) {
      this.dedupeHits++;
      if (d.deliveries === 1) this.dedupeHitsOnFirstDelivery++;
      return false;
    }
    this.processed.set(opId, consumer);
    return true;
  }

  /** How many opIds each consumer processed. */
  perConsumer(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.processed.values()) out[c] = (out[c] ?? 0) + 1;
    return out;
  }
}

/** Elements of `a` missing from `b`. */
export function missing(a: Iterable<string>, b: { has(x: string): boolean }): string[] {
  const out: string[] = [];
  for (const x of a) if (!b.has(x)) out.push(x);
  return out;
}

/** Prints one test's figures in a fixed form. */
export function printFigures(test: string, figures: Record<string, number | string>): void {
  const parts = Object.entries(figures).map(([k, v]) => `${k}=${v}`);
  console.log(`[faults] ${test}: ${parts.join(" ")}`);
}

/** A script under tests/faults/_agents run with this bun, its stdout read line by line. */
export class AgentProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  #stderr = "";
  #exited: Promise<number | null>;
  #alive = true;

  constructor(script: string, arg: unknown) {
    const bun = process.versions.bun ? process.execPath : "bun";
    this.child = spawn(bun, [join(ROOT, "tests", "faults", "_agents", script), JSON.stringify(arg)], {
      stdio: ["ignore", "pipe", "pipe"],
      cwd: ROOT,
    });
    let partial = "";
    this.child.stdout!.on("data", (d: Buffer) => {
      partial += d.toString();
      const parts = partial.split("\n");
      partial = parts.pop()!;
      this.lines.push(...parts);
    });
    this.child.stderr!.on("data", (d: Buffer) => (this.#stderr += d.toString()));
    this.#exited = new Promise((resolve) =>
      this.child.once("exit", (code) => {
        this.#alive = false;
        resolve(code);
      })
    );
  }

  get stderr(): string {
    return this.#stderr;
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** Lines starting with `word ` (the word removed). */
  said(word: string): string[] {
    return this.lines.filter((l) => l.startsWith(`${word} `)).map((l) => l.slice(word.length + 1));
  }

  /** SIGKILL, as in a crash; resolves once the process is gone. */
  async kill(): Promise<void> {
    if (this.#alive) this.child.kill("SIGKILL");
    await this.#exited;
  }

  dispose(): Promise<void> {
    return this.kill();
  }
}
