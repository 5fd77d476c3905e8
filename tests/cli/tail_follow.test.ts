/**
 * `ampd tail PATTERN` against a real ampd: it follows every stream the
 * pattern matches, also streams created while it runs, and rides out an ampd
 * restart (the durable default SQLite, and Redis) without losing or
 * repeating an entry.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ampd, buildAmpd } from "../_helpers/ampd.ts";
import { REDIS_SERVER_AVAILABLE, RedisServer } from "../_helpers/redis_server.ts";
import { connect } from "../../sdk/client/connect.ts";
import { createMessage } from "../../sdk/envelope/builder.ts";

/** A running `ampd tail`, its output lines as they come. */
class Tail {
  readonly lines: string[] = [];
  readonly #child: ChildProcess;
  #stderr = "";
  readonly #closed: Promise<number | null>;

  private constructor(child: ChildProcess) {
    this.#child = child;
    let rest = "";
    child.stdout!.on("data", (d: Buffer) => {
      rest += d.toString();
      let nl;
      while ((nl = rest.indexOf("\n")) >= 0) {
        this.lines.push(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
      }
    });
    child.stderr!.on("data", (d: Buffer) => (this.#stderr += d.toString()));
    this.#closed = new Promise((r) => child.once("close", r));
  }

  static async start(args: string[], socket: string): Promise<Tail> {
    const bin = await buildAmpd();
    return new Tail(spawn(bin, ["tail", ...args], { env: { ...process.env, AMPD_SOCKET: socket, AMPD_TOKEN: "" }, stdio: ["ignore", "pipe", "pipe"] }));
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Waits until `n` lines were printed (fails after 15 s, showing what came). */
  async waitFor(n: number): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (this.lines.length < n) {
      if (Date.now() > deadline) throw new Error(`tail printed ${this.lines.length} of ${n} lines:\n${this.lines.join("\n")}\n${this.#stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends `signal` to the tail process. */
  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  /** True until the process has exited. */
  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async stop(): Promise<number | null> {
    this.#child.kill("SIGINT");
    return await this.#closed;
  }

  /** Its exit code once it ends on its own (fails after 15 s, showing what came). */
  async exited(): Promise<number | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`tail did not exit within 15 s; printed:\n${this.lines.join("\n")}\n${this.#stderr}`)), 15_000);
    });
    try {
      return await Promise.race([this.#closed, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function publish(socket: string, items: [string, number][]): Promise<string[]> {
  const bus = await connect({ socket, name: "tail-test", reconnect: false });
  const keys: string[] = [];
  try {
    for (const [stream, n] of items) {
      const r = await bus.streamAdd(stream, createMessage({ type: "job", sender: "planner", receiver: "worker", payload: { n } }));
      keys.push(`${stream} ${r.entryId}`);
    }
  } finally {
    await bus.close();
  }
  return keys;
}

const keysOf = (lines: string[]) => lines.map((l) => JSON.parse(l) as { stream: string; entryId: string }).map((j) => `${j.stream} ${j.entryId}`);

const durable: { name: string; skip?: string; args: () => Promise<string[]>; cleanup: () => Promise<void> }[] = [];
let redis: RedisServer | undefined;
durable.push({ name: "sqlite", args: async () => [], cleanup: async () => {} });
durable.push({
  name: "redis",
  skip: REDIS_SERVER_AVAILABLE ? undefined : "redis-server is not installed",
  args: async () => ["--redis", (redis ??= await RedisServer.start()).url],
  cleanup: async () => {
    await redis?.dispose();
    redis = undefined;
  },
});

for (const be of durable) {
  (be.skip ? describe.skip : describe)(`tail on ${be.name}`, () => {
    const dir = mkdtempSync(join(tmpdir(), "ampd-tail-"));
    afterAll(async () => {
      await be.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    test("follows 'jobs.*' including streams created later, through an ampd restart, with no entry lost or repeated", async () => {
      const socket = join(dir, "ampd.sock");
      const flags = ["--socket", socket, "--data", join(dir, "ampd.db"), ...(await be.args())];
      const args = be.name === "redis" ? flags.filter((f, i) => f !== "--data" && flags[i - 1] !== "--data") : flags;
      let ampd = await Ampd.start({ args, socket });
      const sent = await publish(socket, [["jobs.a", 1], ["jobs.a", 2], ["other", 3]]);
      const tail = await Tail.start(["jobs.*", "--from", "0", "--json", "--poll", "100ms"], socket);
      try {
        await tail.waitFor(2);
        sent.push(...(await publish(socket, [["jobs.b", 4], ["jobs.b", 5]]))); // a stream created after tail started
        await tail.waitFor(4);
        expect(await ampd.stop()).toBe(0);
        ampd = await Ampd.start({ args, socket });
        sent.push(...(await publish(socket, [["jobs.a", 6], ["jobs.c", 7], ["jobs.b", 8]])));
        await tail.waitFor(7);
        await new Promise((r) => setTimeout(r, 300)); // room for a repeat to show up
        const got = keysOf(tail.lines);
        const want = sent.filter((k) => k.startsWith("jobs."));
        expect(new Set(got).size).toBe(got.length);
        expect([...got].sort()).toEqual([...want].sort());
        for (const s of ["jobs.a", "jobs.b"]) expect(got.filter((k) => k.startsWith(s + " "))).toEqual(want.filter((k) => k.startsWith(s + " ")));
        expect(await tail.stop()).toBe(0);
      } finally {
        await tail.stop();
        await ampd.dispose();
      }
    }, 60_000);
  });
}

describe("tail on memory", () => {
  test("a pattern follows new streams; an unmatched stream is left out; --count ends it", async () => {
    const ampd = await Ampd.start({ args: ["--backend", "memory"] });
    try {
      const bus = await connect({ socket: ampd.socket, name: "watch", reconnect: false });
      const tail = await Tail.start(["inbox.*", "--count", "2", "--poll", "100ms"], ampd.socket);
      // From "$": only what is added once tail is there (connected, and its first look at the streams done).
      while (((await bus.info()).connections as number) < 2) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300));
      await bus.close();
      await publish(ampd.socket, [["inbox.a.b", 1], ["inbox.late", 2], ["other", 3]]);
      await tail.waitFor(1);
      await publish(ampd.socket, [["inbox.later", 4]]);
      // --count 2 ends it: it exits 0 by itself (a SIGINT here could land mid-exit and say nothing of --count).
      expect(await tail.exited()).toBe(0);
      expect(tail.lines.map((l) => l.split(" ")[1])).toEqual(["inbox.late", "inbox.later"]);
      expect(tail.lines[0]).toMatch(/ job planner -> worker \{"n":2\}$/);
    } finally {
      await ampd.dispose();
    }
  }, 30_000);

  test("a Ctrl-C while tail is closing is the stop already under way: exit 0, not death by signal", async () => {
    const ampd = await Ampd.start({ args: ["--backend", "memory"] });
    const tail = await Tail.start(["jobs"], ampd.socket);
    let paused = false;
    try {
      const bus = await connect({ socket: ampd.socket, name: "watch", reconnect: false });
      // Subscribed: tail sets its signal handlers before it follows a stream.
      while (((await bus.info()).subscriptions as number) < 1) await new Promise((r) => setTimeout(r, 20));
      await bus.close();
      // ampd paused: tail's close waits on it, so the SIGINT below lands mid-close.
      process.kill(ampd.pid, "SIGSTOP");
      paused = true;
      tail.signal("SIGTERM");
      await new Promise((r) => setTimeout(r, 300));
      expect(tail.running).toBe(true);
      tail.signal("SIGINT");
      await new Promise((r) => setTimeout(r, 300));
      expect(tail.running).toBe(true);
      process.kill(ampd.pid, "SIGCONT");
      paused = false;
      expect(await tail.exited()).toBe(0);
    } finally {
      if (paused) process.kill(ampd.pid, "SIGCONT");
      await tail.stop();
      await ampd.dispose();
    }
  }, 30_000);
});
