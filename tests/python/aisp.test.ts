/**
 * One grader for every language: a Python agent grades the specs of the AISP
 * golden vectors with clients/python/ampbus/aisp/ and sends each to a real
 * ampd with the tier it found; ampd re-grades every spec with the SDK's grader
 * and refuses a claim above its own grade (TIER_MISMATCH). Every claim must
 * pass and equal the SDK's tier; a claim above the grade must be refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { Ampd, ROOT } from "../_helpers/ampd.ts";
import { AISPParser, grade } from "../../mod.ts";
import { prng } from "../_helpers/prng.ts";

/** Random statements from AISP pieces, prose and the odd character: what a differential run needs. */
function randomStatement(rng: ReturnType<typeof prng>): string {
  const pieces = ["∀", "∃", "∃!", "λ", "≜", "≔", ":=", "⇒", "=>", "∧", "∨", "¬", "∈", "⊆", "∪", "=", "≠", "≤", "⊤", "∅", "ℕ", "𝔹",
    "(", ")", "[", "]", "{", "}", "⟨", "⟩", "⟦Ω:Meta⟧", "⟦Ε⟧", "⟦E⟧", "|", ",", ";", ".", ":", "\n", " ", " ", " ", "x", "f", "Files",
    "compiled", "0.8", '"s"', ";;c\n", "𝔸5.1.x", "◊⁺⁺", "ℝ⁷⁶⁸", "é", "ö", "-", "+", "÷", "¾", "λx.", "∀x ∈ S: p(x)", "a ∧ b ∨ c"];
  let s = "";
  const n = rng.int(0, 24);
  for (let i = 0; i < n; i++) s += rng.pick(pieces);
  return s;
}

const PYTHON = "/usr/bin/python3";
const PYTHONPATH = join(ROOT, "clients", "python");
const VECTORS = join(ROOT, "tests", "vectors", "aisp", "vectors.json");
const HAVE_MSGPACK = spawnSync(PYTHON, ["-c", "import msgpack"], { stdio: "ignore" }).status === 0;
if (process.env.CI && !HAVE_MSGPACK) throw new Error(`${PYTHON} lacks msgpack but CI is set: install python3-msgpack`);

function runPython(args: string[], input = ""): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(PYTHON, args, { cwd: PYTHONPATH, env: { ...process.env, PYTHONPATH, PYTHONDONTWRITEBYTECODE: "1" } });
  // Bytes collected and decoded once: a character split across two chunks stays whole.
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (d: Buffer) => out.push(d));
  child.stderr.on("data", (d: Buffer) => err.push(d));
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
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

  test("differential: 3000 random specs tokenize, parse and grade the same in Python", async () => {
    const rng = prng(0x16a15b);
    const specs = Array.from({ length: 3000 }, () => {
      const list = () => Array.from({ length: rng.int(0, 3) }, () => randomStatement(rng));
      const spec: Record<string, unknown> = { preconditions: list(), task: randomStatement(rng), postconditions: list() };
      if (rng.next() < 0.5) spec.evidence = { prover: "p", method: rng.pick(["formal-verification", "test-execution", "static-analysis"]), confidence: rng.int(0, 100) / 100 };
      return spec as unknown as Parameters<typeof grade>[0];
    });
    const r = await runPython([join(ROOT, "tests", "python", "aisp_grade_stdin.py")], JSON.stringify(specs));
    if (r.code !== 0) throw new Error(r.stderr);
    const py = JSON.parse(r.stdout) as { grade: unknown; parsed: unknown }[];
    const parser = new AISPParser();
    let errors = 0;
    specs.forEach((spec, i) => {
      const statements = [...spec.preconditions, spec.task, ...spec.postconditions];
      const parsed = statements.map((s) => {
        const tokens = parser.tokenize(s);
        const e = parser.parse(tokens).errors ?? [];
        errors += e.length;
        return [tokens.map((t) => [t.kind, t.text, t.start.offset, t.end.offset]), e.map((x) => [x.message, x.line, x.column])];
      });
      expect([i, py[i].parsed]).toEqual([i, parsed]);
      expect([i, py[i].grade]).toEqual([i, grade(spec)]);
    });
    expect(errors).toBeGreaterThan(1000); // errors are compared, not only successes
  }, 120_000);

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
