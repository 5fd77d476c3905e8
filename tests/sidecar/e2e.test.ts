/**
 * End to end: three agents, on Bun, Deno and Node, exchange messages through
 * one compiled ampd, on its default sqlite store and on a real redis-server. A ring: Bun sends
 * tasks to Deno's inbox, Deno answers each to Node (replyTo, same
 * conversationId), Node answers to Bun. Each agent prints a JSON summary
 * (tests/agents/ring.mjs) that the test checks against the others. When an
 * agent fails or hangs, the error shows every agent's timestamped log and
 * ampd's: the agent that lost a message is often not the one that failed first.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Ampd, buildAmpd, ROOT } from "../_helpers/ampd.ts";
import { REDIS_SKIP_REASON, RedisServer } from "../_helpers/redis_server.ts";
import { buildSdkForNode } from "../_helpers/sdk_build.ts";

const COUNT = 20;
const AGENT_TIMEOUT_MS = 60_000;

interface Sent {
  id: string;
  tier: string;
  entryId: string;
  replyTo?: string;
  conversationId: string;
}
interface Received {
  id: string;
  stream: string;
  entryId: string;
  type: string;
  sender: string;
  receiver: string;
  tier: string;
  replyTo?: string;
  conversationId: string;
  task: string;
  payload: Record<string, unknown>;
}
interface Summary {
  agent: string;
  runtime: string;
  backend: string;
  sent: Sent[];
  received: Received[];
  duplicates: number;
  inboxLength: number;
}

const deno = existsSync(join(ROOT, "node_modules", ".bin", "deno")) ? join(ROOT, "node_modules", ".bin", "deno") : "deno";
// In `bun test`, execPath is bun itself.
const bun = process.versions.bun ? process.execPath : "bun";

function commandFor(runtime: string): [string, string[]] {
  switch (runtime) {
    case "deno":
      return [deno, ["run", "--allow-all", "tests/agents/agent.ts"]];
    case "bun":
      return [bun, ["tests/agents/agent.ts"]];
    default:
      return ["node", ["tests/agents/agent.mjs"]];
  }
}

/** How one agent process ended: its summary when it finished, and everything it printed. */
interface AgentRun {
  runtime: string;
  summary: Summary | undefined;
  ending: string;
  stdout: string;
  stderr: string;
}

/** Runs one agent to completion (never rejects: a failed agent has no summary). */
function runAgent(runtime: string, options: Record<string, unknown>): Promise<AgentRun> {
  const [cmd, args] = commandFor(runtime);
  const child = spawn(cmd, [...args, JSON.stringify({ ...options, runtimeKey: runtime })], {
    cwd: ROOT, // Deno maps npm packages through deno.json in the repository root
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), AGENT_TIMEOUT_MS);
    const done = (ending: string) => {
      clearTimeout(timer);
      const line = stdout.split("\n").find((l) => l.startsWith("AGENT_SUMMARY "));
      const ok = ending === "exit code 0" && line !== undefined;
      resolve({ runtime, summary: ok ? JSON.parse(line.slice("AGENT_SUMMARY ".length)) : undefined, ending, stdout, stderr });
    };
    child.once("error", (e) => done(`spawn error: ${e.message}`));
    child.once("close", (code, signal) => done(signal ?? `exit code ${code}`));
  });
}

/** Every agent's output: when one agent fails, the others' logs show what it was waiting for. */
function agentLogs(runs: AgentRun[], ampdStderr: string): string {
  const parts = runs.map((r) => `--- ${r.runtime} agent (${r.ending}) ---\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return `${parts.join("\n")}\n--- ampd stderr ---\n${ampdStderr}`;
}

/**
 * Runs the ring through `ampd`, then checks it; on any failure the error
 * carries every agent's log and ampd's, not only the first agent to fail.
 */
async function ringChecked(ampd: Ampd, run: string, backend: string): Promise<void> {
  const name = (r: string) => `${run}-${r}`;
  const common = { socket: ampd.socket, count: COUNT, run };
  // All three start at once; each follows its inbox from "0", so start-up order does not matter.
  const runs = await Promise.all([
    runAgent("bun", { ...common, name: name("bun"), next: name("deno"), role: "starter" }),
    runAgent("deno", { ...common, name: name("deno"), next: name("node"), role: "relay" }),
    runAgent("node", { ...common, name: name("node"), next: name("bun"), role: "relay" }),
  ]);
  const failed = runs.filter((r) => r.summary === undefined);
  if (failed.length > 0) {
    throw new Error(`${failed.map((r) => `${r.runtime} agent ended with ${r.ending}`).join("; ")}\n${agentLogs(runs, ampd.stderr)}`);
  }
  try {
    checkRing(Object.fromEntries(runs.map((r) => [r.runtime, r.summary!])), run, backend);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${agentLogs(runs, ampd.stderr)}`, { cause: e });
  }
}

function checkRing(s: Record<string, Summary>, run: string, backend: string): void {
  const name = (r: string) => `${run}-${r}`;
  const from: Record<string, string> = { deno: "bun", node: "deno", bun: "node" };
  const sentById = new Map<string, Sent & { by: string }>();
  for (const [rt, sum] of Object.entries(s)) for (const m of sum.sent) sentById.set(m.id, { ...m, by: rt });

  for (const [rt, sum] of Object.entries(s)) {
    expect(sum.runtime).toBe(rt); // really ran on that runtime
    expect(sum.backend).toBe(backend);
    expect(sum.agent).toBe(name(rt));
    expect(sum.sent.length).toBe(COUNT);
    expect(sum.received.length).toBe(COUNT);
    expect(sum.inboxLength).toBe(COUNT); // the relays' second sends stored nothing
    if (rt !== "bun") expect(sum.duplicates).toBe(COUNT);

    const ids = sum.received.map((m) => m.entryId);
    expect(ids).toEqual([...ids].sort((a, b) => {
      const [am, as] = a.split("-").map(Number);
      const [bm, bs] = b.split("-").map(Number);
      return am - bm || as - bs;
    }));
    expect(new Set(sum.received.map((m) => m.id)).size).toBe(COUNT);

    for (const m of sum.received) {
      const sender = sentById.get(m.id);
      expect(sender?.by).toBe(from[rt]); // it came from the previous agent of the ring
      expect(m.sender).toBe(name(from[rt]));
      expect(m.receiver).toBe(name(rt));
      expect(m.stream).toBe(`inbox.${name(rt)}`);
      expect(m.entryId).toBe(sender!.entryId);
      expect(m.tier).toBe(sender!.tier); // the tier the sender graded travels unchanged
      expect(m.conversationId).toBe(sender!.conversationId);
      expect(m.type).toBe(rt === "deno" ? "task" : "result");
      if (rt !== "deno") expect(sentById.get(m.replyTo!)?.by).toBe(from[from[rt]]);
    }
  }

  // Bun got back every task it sent, answered by Deno then Node, with the payload intact.
  const tasks = s.bun.sent;
  expect(s.bun.received.map((m) => m.conversationId).sort()).toEqual(tasks.map((t) => t.conversationId).sort());
  for (const m of s.bun.received) {
    const nodeMsg = sentById.get(m.id)!;
    const denoMsg = sentById.get(nodeMsg.replyTo!)!;
    const bunMsg = sentById.get(denoMsg.replyTo!)!;
    expect([bunMsg.by, denoMsg.by, nodeMsg.by]).toEqual(["bun", "deno", "node"]);
    expect(m.replyTo).toBe(denoMsg.id);
    expect(m.payload.chain).toEqual([bunMsg.id, denoMsg.id]);
    expect(m.payload.hops).toEqual(["deno", "node"]);
    const i = Number(bunMsg.conversationId.split("-conv-")[1]);
    expect(m.payload.orig).toEqual({ i, text: "λ∀≥ 😀 naïve", bytes: { hex: "000102ff" }, f: 0.25, big: 2 ** 40, neg: -7 });
    expect(m.task).toBe(`validate${i} ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8 ⇒ checked by ${run}-deno ⇒ checked by ${run}-node`);
  }
  // Deno received the tasks in the order Bun sent them.
  expect(s.deno.received.map((m) => m.payload.i)).toEqual(Array.from({ length: COUNT }, (_, i) => i));
  // Different evidence on each hop grades to different tiers.
  expect(new Set(Object.values(s).flatMap((x) => x.sent.map((m) => m.tier))).size).toBeGreaterThanOrEqual(2);
}

beforeAll(async () => {
  await Promise.all([buildAmpd(), buildSdkForNode()]);
}, 120_000);

describe("three runtimes through one ampd", () => {
  test("on the default store (sqlite, no backend flag)", async () => {
    const ampd = await Ampd.start();
    try {
      const run = `m${Date.now().toString(36)}`;
      await ringChecked(ampd, run, "sqlite");
      expect(ampd.stderr).not.toMatch(/ERROR/);
    } finally {
      expect(await ampd.stop()).toBe(0);
      await ampd.dispose();
    }
  }, 90_000);

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
        const run = `r${Date.now().toString(36)}`;
        await ringChecked(ampd, run, "redis");
        expect(ampd.stderr).not.toMatch(/ERROR/);
      } finally {
        expect(await ampd.stop()).toBe(0);
        await ampd.dispose();
      }
    }, 90_000);
  } else {
    test.skip(`on Redis: ${REDIS_SKIP_REASON}`, () => {});
  }
});
