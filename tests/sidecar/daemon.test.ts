/**
 * ampd as a process: its command line, the socket file it owns, and how it
 * starts and stops. Runs the compiled `dist/ampd`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { connect } from "../../sdk/client/connect.ts";
import { createMessage } from "../../sdk/envelope/builder.ts";
import { encode } from "../../sdk/codec/codec.ts";
import { Ampd, buildAmpd, runAmpd } from "../_helpers/ampd.ts";
import { errorOf, RawConn, requestFrame } from "../_helpers/raw_conn.ts";
import { RedisServer } from "../_helpers/redis_server.ts";

const started: Ampd[] = [];
async function start(args: string[] = ["--backend", "memory"], options: { socket?: string; env?: Record<string, string> } = {}) {
  const a = await Ampd.start({ args, ...options });
  started.push(a);
  return a;
}

beforeAll(async () => {
  await buildAmpd();
}, 60_000);

afterAll(async () => {
  for (const a of started) await a.dispose();
});

describe("command line", () => {
  test("--help prints the flags and exits 0", async () => {
    const r = await runAmpd(["--help"]);
    expect(r.code).toBe(0);
    for (const flag of ["--socket", "--socket-mode", "--redis", "--backend", "--max-frame", "--dedupe-window", "--token"]) {
      expect(r.stdout).toContain(flag);
    }
  });

  test("--help lists the Redis safety flags with their defaults", async () => {
    const r = await runAmpd(["--help"]);
    expect(r.stdout).toMatch(/--command-timeout DUR[^]*?Default: 5s/);
    expect(r.stdout).toMatch(/--fallback MODE[^]*?Default: none/);
    expect(r.stdout).toMatch(/--connect-timeout DUR[^]*?Default: 10s/);
    expect(r.stdout).toMatch(/--allow-eviction[^]*?Default: off/);
  });

  test("--version prints the package version and exits 0", async () => {
    for (const flag of ["--version", "-V"]) {
      const r = await runAmpd([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(`ampd ${pkg.version}`);
    }
  });

  const bad: [string[], string][] = [
    [["--bogus"], "--bogus"],
    [["--max-frame", "12q"], "--max-frame"],
    [["--max-frame", "1"], "--max-frame"],
    [["--backend", "nope"], "--backend"],
    [["--backend", "redis"], "--backend redis"],
    [["--socket-mode", "999"], "--socket-mode"],
    [["--dedupe-window", "soon"], "--dedupe-window"],
    [["--redis", "http://x"], "--redis"],
    [["--fallback", "disk"], "--fallback"],
    [["--backend", "redis", "--redis", "redis://127.0.0.1:1", "--fallback", "memory"], "--fallback memory"],
    [["--command-timeout", "soon"], "--command-timeout"],
    [["--log-level", "loud"], "--log-level"],
    [["--socket"], "--socket"],
    [["--sync", "always"], "--sync"],
    [["--retain", "forever"], "--retain"],
    [["--retention-policy", "sometimes"], "--retention-policy must be one of interest, limits"],
    [["--retian", "7d"], "unknown flag --retian (did you mean --retain?)"],
    [["stast"], `unknown command "stast" (did you mean 'ampd stats'?)`],
    [["--max-size", "1KiB"], "--max-size"],
    [["--backend", "memory", "--data", "x.db"], "--data applies to the sqlite backend only"],
    [["--redis", "redis://127.0.0.1:1", "--sync", "normal"], "--sync applies to the sqlite backend only"],
    [["stray"], "stray"],
  ];
  for (const [args, named] of bad) {
    test(`ampd ${args.join(" ")} exits 2 naming ${named}`, async () => {
      const r = await runAmpd(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(named);
      expect(r.stdout).not.toContain("ampd ready");
    });
  }
});

describe("socket file", () => {
  test("is created with mode 0600 by default", async () => {
    const a = await start();
    expect(statSync(a.socket).isSocket()).toBe(true);
    expect(statSync(a.socket).mode & 0o777).toBe(0o600);
  });

  test("--socket-mode 660 is honoured", async () => {
    const a = await start(["--backend", "memory", "--socket-mode", "660"]);
    expect(statSync(a.socket).mode & 0o777).toBe(0o660);
  });

  test("a stale socket left by a SIGKILLed ampd is replaced", async () => {
    const first = await start();
    await first.kill();
    expect(existsSync(first.socket)).toBe(true); // SIGKILL leaves the file behind
    const second = await start(["--backend", "memory"], { socket: first.socket });
    expect(second.stderr).toContain("stale");
    const c = await RawConn.hello(second.socket);
    expect((await c.call({ op: "ping", rid: 1 })).ok).toBe(true);
    c.close();
  });

  test("a live ampd's socket is not stolen", async () => {
    const first = await start();
    const r = await runAmpd(["--backend", "memory", "--socket", first.socket]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(first.socket);
    expect(r.stderr).toMatch(/another process is listening/);
    // The first one still serves, on the same file.
    expect(first.alive).toBe(true);
    const c = await RawConn.hello(first.socket);
    expect((await c.call({ op: "ping", rid: 1 })).ok).toBe(true);
    c.close();
  });

  test("a regular file at the socket path is refused and left alone", async () => {
    const a = await start(); // only for its temp dir
    const path = join(a.dir, "not-a-socket");
    writeFileSync(path, "precious");
    const r = await runAmpd(["--backend", "memory", "--socket", path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("not a socket");
    expect(readFileSync(path, "utf8")).toBe("precious");
  });
});

describe("shutdown", () => {
  test("SIGTERM: in-flight requests are answered, the socket is removed, exit 0", async () => {
    const a = await Ampd.start({ args: ["--backend", "memory"] });
    try {
      const c = await RawConn.hello(a.socket);
      // A read that blocks for 1.5 s is in flight once the ping behind it is answered
      // (requests are dispatched in order).
      c.request({ op: "read", rid: 1, streams: { quiet: "$" }, block: 1500 });
      await c.call({ op: "ping", rid: 2 });
      const code = a.stop();
      const read = await c.reply(1, 10_000);
      expect(read.ok).toBe(true);
      expect(read.streams).toEqual([]);
      expect(await code).toBe(0);
      expect(existsSync(a.socket)).toBe(false);
      expect(a.stderr).toContain("SIGTERM");
      await c.waitClosed();
    } finally {
      await a.dispose();
    }
  }, 15_000);

  test("requests arriving after SIGTERM get SHUTTING_DOWN while in-flight ones finish", async () => {
    const a = await Ampd.start({ args: ["--backend", "memory"] });
    try {
      const c = await RawConn.hello(a.socket);
      c.request({ op: "read", rid: 1, streams: { quiet: "$" }, block: 1500 });
      await c.call({ op: "ping", rid: 2 });
      const code = a.stop();
      await new Promise((r) => setTimeout(r, 300));
      const late = await c.call({ op: "add", rid: 3, stream: "s", msg: new Uint8Array([0x80]) });
      expect(errorOf(late).code).toBe("SHUTTING_DOWN");
      expect((await c.reply(1, 10_000)).ok).toBe(true);
      expect(await code).toBe(0);
    } finally {
      await a.dispose();
    }
  }, 15_000);

  test("SIGTERM while a connection's frames wait in its backlog: they are answered in order, none skipped, before it closes", async () => {
    const a = await Ampd.start({ args: ["--backend", "memory"] });
    try {
      const c = await RawConn.hello(a.socket);
      // 20 000 adds in one write: ampd handles 0.5 ms of them per turn; the rest wait in its
      // backlog or, unread, in the socket (ampd stops reading while it has a backlog).
      const N = 20_000;
      const parts: Uint8Array[] = [];
      for (let i = 0; i < N; i++) {
        const msg = encode(createMessage({ type: "note", sender: "t", receiver: "t", payload: i }));
        parts.push(requestFrame({ op: "add", rid: 100 + i, stream: "backlog", msg }));
      }
      c.write(Buffer.concat(parts));
      await c.waitFor((f) => f.rid === 100, "the first add's reply", 10_000);
      const code = a.stop();
      await c.waitClosed(15_000);
      expect(await code).toBe(0);
      // What ampd read it answered, in order: the replies are adds 0..k-1, none skipped; those it
      // took up after the signal are refused with SHUTTING_DOWN, not dropped.
      const adds = c.frames.filter((f) => typeof f.rid === "number" && f.rid >= 100);
      expect(adds.map((f) => f.rid)).toEqual(Array.from({ length: adds.length }, (_, i) => 100 + i));
      const refused = adds.filter((f) => f.ok === false);
      for (const f of refused) expect(errorOf(f).code).toBe("SHUTTING_DOWN");
      expect(refused.length).toBeGreaterThan(0);
      expect(adds.slice(0, adds.length - refused.length).every((f) => f.ok === true)).toBe(true);
    } finally {
      await a.dispose();
    }
  }, 30_000);
});

describe("backend choice", () => {
  test("with no Redis named, ampd keeps streams in ./ampd.db and says so; they survive a restart", async () => {
    const a = await start([]);
    const file = join(a.dir, "ampd.db");
    expect(a.stderr).toContain(`backend sqlite: ${file} (sync full)`);
    expect(a.stderr).toContain("retention: entries older than 7 d go (policy interest) unless a stream has its own");
    expect(existsSync(file)).toBe(true);
    const bus = await connect({ socket: a.socket, name: "t", reconnect: false });
    const { entryId } = await bus.streamAdd("kept", createMessage({ type: "note", sender: "t", receiver: "t" }));
    await bus.close();
    expect(await a.stop()).toBe(0);
    const b = await start(["--data", file, "--sync", "normal"]);
    expect(b.stderr).toContain(`backend sqlite: ${file} (sync normal)`);
    const again = await connect({ socket: b.socket, name: "t", reconnect: false });
    const got = await again.streamRead({ kept: "0" });
    expect(got.map((e) => e.entryId)).toEqual([entryId]);
    await again.close();
  });

  test("--backend memory says, at start, that everything is lost on exit", async () => {
    const a = await start(["--backend", "memory"]);
    expect(a.stderr).toMatch(/backend memory: .*ALL are lost when ampd exits/);
    expect(existsSync(join(a.dir, "ampd.db"))).toBe(false);
  });

  test("a named Redis that is unreachable is not replaced by memory: exit 1 naming the reason and --fallback", async () => {
    const r = await runAmpd(["--redis", "redis://127.0.0.1:1", "--connect-timeout", "1s"]);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain("ampd ready");
    expect(r.stderr).not.toContain("FALLING BACK");
    expect(r.stderr).toMatch(/cannot start: Redis at redis:\/\/127\.0\.0\.1:1 is not reachable/);
    expect(r.stderr).toContain("--fallback memory");
  });

  test("REDIS_URL with a mistyped host is not replaced by memory either", async () => {
    const r = await runAmpd(["--connect-timeout", "1s"], { env: { REDIS_URL: "redis://typo.invalid:6399" } });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain("ampd ready");
    expect(r.stderr).toContain("typo.invalid:6399");
    expect(r.stderr).toContain("--fallback memory");
  });

  test("ampd waits for a named Redis that comes up within --connect-timeout", async () => {
    const redis = await RedisServer.start();
    try {
      await redis.stop();
      const starting = start(["--redis", redis.url, "--connect-timeout", "20s"]);
      await new Promise((r) => setTimeout(r, 1500));
      await redis.restart();
      const a = await starting;
      const c = await RawConn.open(a.socket);
      const hello = await c.call({ op: "hello", rid: 1, version: 1, client: "t" });
      expect(hello.backend).toBe("redis");
      c.close();
    } finally {
      await redis.dispose();
    }
  }, 30_000);

  test("--fallback memory with an unreachable Redis falls back to memory, loudly, naming the reason", async () => {
    const a = await start(["--backend", "auto", "--redis", "redis://127.0.0.1:1", "--connect-timeout", "1s", "--fallback", "memory"]);
    expect(a.stderr).toContain("FALLING BACK TO IN-MEMORY STREAMS");
    expect(a.stderr).toMatch(/Redis is not reachable: .+/);
    expect(a.stderr).toMatch(/ECONNREFUSED|refused|timed out|timeout/i);
    const c = await RawConn.open(a.socket);
    const hello = await c.call({ op: "hello", rid: 1, version: 1, client: "t" });
    expect(hello.backend).toBe("memory");
    c.close();
  });

  test("--backend redis with an unreachable Redis exits 1 with the reason", async () => {
    const r = await runAmpd(["--backend", "redis", "--redis", "redis://127.0.0.1:1", "--connect-timeout", "500ms"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot start");
  });
});

describe("--token", () => {
  let a: Ampd;
  beforeAll(async () => {
    a = await start(["--backend", "memory", "--token", "s3cret"]);
  });

  test("hello without a token gets AUTH_FAILED and the connection is closed", async () => {
    const c = await RawConn.open(a.socket);
    const r = await c.call({ op: "hello", rid: 1, version: 1, client: "t" });
    expect(errorOf(r).code).toBe("AUTH_FAILED");
    await c.waitClosed();
  });

  test("hello with a wrong token gets AUTH_FAILED and the connection is closed", async () => {
    const c = await RawConn.open(a.socket);
    const r = await c.call({ op: "hello", rid: 1, version: 1, client: "t", token: "s3cret!" });
    expect(errorOf(r).code).toBe("AUTH_FAILED");
    await c.waitClosed();
  });

  test("the right token works, raw and through the SDK", async () => {
    const c = await RawConn.hello(a.socket, { token: "s3cret" });
    expect((await c.call({ op: "ping", rid: 1 })).ok).toBe(true);
    c.close();
    const bus = await connect({ socket: a.socket, token: "s3cret", name: "sdk" });
    expect(typeof (await bus.ping())).toBe("number");
    await bus.close();
    await expect(connect({ socket: a.socket, token: "nope", name: "sdk" })).rejects.toMatchObject({ code: "AUTH_FAILED" });
  });

  test("AMPD_TOKEN in the environment works like --token", async () => {
    const b = await start(["--backend", "memory"], { env: { AMPD_TOKEN: "fromenv" } });
    const bad = await RawConn.open(b.socket);
    expect(errorOf(await bad.call({ op: "hello", rid: 1, version: 1, client: "t" })).code).toBe("AUTH_FAILED");
    const good = await RawConn.hello(b.socket, { token: "fromenv" });
    good.close();
  });
});
