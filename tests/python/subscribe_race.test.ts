/**
 * The Python client registers a subscription as its reader thread reads the
 * `subscribe` reply, before it reads the next frame: hundreds of
 * subscriptions (tests/python/subscribe_race.py), created while entries are
 * being added, each see every entry after their start, on memory and Redis.
 *
 * Needs Debian's python3-msgpack for /usr/bin/python3. Skipped without it,
 * except under CI, where its absence fails.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { Ampd, buildAmpd, ROOT } from "../_helpers/ampd.ts";
import { REDIS_SKIP_REASON, RedisServer } from "../_helpers/redis_server.ts";

const PYTHON = "/usr/bin/python3";
const PYTHONPATH = join(ROOT, "clients", "python");
const SCRIPT = join(import.meta.dirname, "subscribe_race.py");

const HAVE_MSGPACK = spawnSync(PYTHON, ["-c", "import msgpack"], { stdio: "ignore" }).status === 0;
if (process.env.CI && !HAVE_MSGPACK) throw new Error(`${PYTHON} lacks msgpack but CI is set: install python3-msgpack`);

/** Runs the script against ampd at `socket`; resolves with what it printed. */
function race(socket: string, prefix: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(PYTHON, [SCRIPT, socket, prefix], { cwd: PYTHONPATH, env: { ...process.env, PYTHONPATH, PYTHONDONTWRITEBYTECODE: "1" } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 40_000);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    })
  );
}

async function check(ampd: Ampd, prefix: string): Promise<void> {
  const r = await race(ampd.socket, prefix);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as { subscriptions: number; problems: string[] };
  expect(out.subscriptions).toBe(200);
  expect(out.problems.slice(0, 20)).toEqual([]);
  expect(ampd.stderr).not.toMatch(/ERROR/);
}

describe.skipIf(!HAVE_MSGPACK)("Python subscriptions see every entry", () => {
  beforeAll(async () => {
    await buildAmpd();
  }, 120_000);

  test("on memory", async () => {
    const ampd = await Ampd.start({ args: ["--backend", "memory"] });
    try {
      await check(ampd, `pyrace-m${Date.now().toString(36)}`);
    } finally {
      expect(await ampd.stop()).toBe(0);
      await ampd.dispose();
    }
  }, 50_000);

  if (REDIS_SKIP_REASON === undefined) {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await RedisServer.start();
    });
    afterAll(async () => {
      await redis?.dispose();
    });

    test("on Redis", async () => {
      const ampd = await Ampd.start({ args: ["--backend", "redis", "--redis", redis.url] });
      try {
        await check(ampd, `pyrace-r${Date.now().toString(36)}`);
      } finally {
        expect(await ampd.stop()).toBe(0);
        await ampd.dispose();
      }
    }, 50_000);
  } else {
    test.skip(`on Redis: ${REDIS_SKIP_REASON}`, () => {});
  }
});
