/**
 * One grader for every language: a Python agent grades the specs of the AISP
 * golden vectors with clients/python/ampbus/aisp.py and sends each to a real
 * ampd with the tier it found; ampd re-grades every spec with the SDK's grader
 * and refuses a claim above its own grade (TIER_MISMATCH). Every claim must
 * pass and equal the SDK's tier; a claim above the grade must be refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { Ampd, ROOT } from "../_helpers/ampd.ts";
import { grade } from "../../mod.ts";

const PYTHON = "/usr/bin/python3";
const PYTHONPATH = join(ROOT, "clients", "python");
const VECTORS = join(ROOT, "tests", "vectors", "aisp", "vectors.json");
const HAVE_MSGPACK = spawnSync(PYTHON, ["-c", "import msgpack"], { stdio: "ignore" }).status === 0;
if (process.env.CI && !HAVE_MSGPACK) throw new Error(`${PYTHON} lacks msgpack but CI is set: install python3-msgpack`);

function runPython(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(PYTHON, args, { cwd: PYTHONPATH, env: { ...process.env, PYTHONPATH, PYTHONDONTWRITEBYTECODE: "1" } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    })
  );
}

describe.skipIf(!HAVE_MSGPACK)("a Python agent's graded tier passes ampd's check", () => {
  let ampd: Ampd;
  beforeAll(async () => {
    ampd = await Ampd.start({ args: ["--backend", "memory"] });
  }, 60_000);
  afterAll(async () => {
    await ampd?.dispose();
  });

  test("the Python grader's unit tests against the golden vectors", async () => {
    const r = await runPython(["-m", "unittest", "tests.test_aisp", "-v"]);
    expect(r.stderr).toContain("OK");
    expect(r.code).toBe(0);
  }, 60_000);

  test("every spec of the vectors, sent with Python's tier, is stored; that tier is the SDK's; a higher claim is TIER_MISMATCH", async () => {
    const r = await runPython([join(ROOT, "tests", "python", "aisp_agent.py"), ampd.socket, VECTORS]);
    if (r.code !== 0) throw new Error(r.stderr);
    const out = JSON.parse(r.stdout) as { sent: [string, string][]; refused: unknown[]; lie: [string, string, string] };
    expect(out.refused).toEqual([]);
    expect(out.sent.length).toBeGreaterThan(60);
    const vectors = JSON.parse(readFileSync(VECTORS, "utf8"));
    const byName = new Map<string, { spec: Parameters<typeof grade>[0] }>(vectors.grades.map((v: { name: string }) => [v.name, v]));
    for (const [name, tier] of out.sent) expect([name, tier]).toEqual([name, grade(byName.get(name)!.spec).tier]);
    const tiers = new Set(out.sent.map(([, t]) => t));
    expect(tiers.size).toBeGreaterThanOrEqual(3); // not all one tier
    expect(out.lie).toEqual(["reject", "TIER_MISMATCH", "reject"]);
  }, 60_000);
});
