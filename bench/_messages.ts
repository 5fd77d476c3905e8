/**
 * The three messages the serializer benchmark encodes: the seed example of the
 * AISP message format, a ~1 KiB task and a ~16 KiB result. The larger two are
 * built from the kind of text agents really exchange (paths, diff hunks, test
 * names, logs, stack traces, structured data), so that they compress like real
 * traffic does; they are deterministic, so every run and runtime encodes the
 * same bytes.
 *
 * The bus benchmarks send numbered copies of the seed (`numbered`,
 * `prepare`): each with its own id and opId, so that dedupe never
 * short-circuits an add.
 *
 * @module
 */
import { type AISPMessage, encode } from "../mod.ts";
import { storedHeaders } from "../sdk/backend/headers.ts";
import type { EntryHeaders } from "../sdk/backend/types.ts";

/** One benchmark input. */
export interface BenchMessage {
  /** Short label used in table headings. */
  name: string;
  msg: AISPMessage;
}

const T0 = 1706745600000;

/** The example of the AISP message format spec, as an ampbus v1 message. */
export const seed: AISPMessage = {
  v: 1,
  id: "msg-001",
  opId: "op-001",
  type: "task",
  sender: "coder-agent",
  receiver: "tester-agent",
  timestamp: T0,
  spec: {
    preconditions: ["∀f ∈ CodeFiles: compiled(f) = ⊤"],
    task: "validate ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8",
    postconditions: ["∀t ∈ Tests: passed(t) = ⊤"],
    evidence: { prover: "jest", method: "test-execution", confidence: 0.95 },
  },
  tier: "gold",
};

/** A coder's hand-off to a tester: a few conditions, changed files, a diff hunk, tests to run (~1 KiB). */
export const task1k: AISPMessage = {
  v: 1,
  id: "0190b5c2-7f3a-7c41-9e2d-5b8a1f6c3d20",
  opId: "0190b5c2-7f3a-7c41-9e2d-5b8a1f6c3d21",
  type: "task",
  sender: "coder-agent-2",
  receiver: "tester-agent",
  timestamp: T0 + 61_234,
  spec: {
    preconditions: [
      "∀f ∈ ChangedFiles: compiled(f) = ⊤",
      "snapshot(repo) = snapSha",
    ],
    task: "verify ≜ λpr.runTests(affected(pr)) ∧ coverage(affected(pr)) ≥ 0.85",
    postconditions: ["∀t ∈ affected(pr): passed(t) = ⊤", "coverage(src/auth) ≥ 0.85"],
  },
  tier: "silver",
  payload: {
    files: [
      "src/auth/session.ts",
      "src/auth/token-store.ts",
    ],
    diff: [
      "@@ -41,7 +41,9 @@ export class SessionStore {",
      "   async refresh(id: string): Promise<Session | undefined> {",
      "     const s = await this.#backend.get(id);",
      "-    if (!s) return undefined;",
      "+    if (!s || s.expiresAt <= Date.now()) {",
      "+      return undefined;",
      "+    }",
      "     s.expiresAt = Date.now() + this.#ttlMs;",
    ].join("\n"),
    tests: [
      "tests/auth/session.test.ts > refresh extends a live session",
      "tests/auth/session.test.ts > refresh ignores an expired session",
    ],
  },
  snapSha: "9f3c2a7e41b0d8c5",
  conversationId: "conv-auth-refresh-2291",
  traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
};

// A small deterministic PRNG (mulberry32), so the 16 KiB message is the same everywhere.
function rng(seedValue: number): () => number {
  let a = seedValue >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MODULES = ["auth/session", "auth/token-store", "http/router", "http/middleware/require-session", "db/pool", "db/migrations", "queue/consumer", "util/retry"];
const VERBS = ["returns", "rejects", "retries", "extends", "ignores", "parses", "streams", "closes"];
const OBJECTS = ["an expired session", "a live session", "a malformed cookie", "a missing header", "a dropped connection", "the last page", "an empty body", "a duplicate id"];
const LOGS = [
  "[db/pool] acquired connection #{n} in {ms}ms",
  "[http/router] GET /api/v1/sessions/{n} 200 {ms}ms",
  "[queue/consumer] ack message {n} after {ms}ms",
  "[auth/session] refresh id=sess_{n} ttl=3600000",
  "[util/retry] attempt {n} failed: ECONNRESET, backing off {ms}ms",
  "[http/router] POST /api/v1/login 401 {ms}ms",
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function stackTrace(r: () => number, mod: string, line: number): string {
  return [
    `AssertionError: expected ${Math.floor(r() * 500)} to equal ${Math.floor(r() * 500)}`,
    `    at Object.<anonymous> (tests/${mod}.test.ts:${line}:${10 + Math.floor(r() * 30)})`,
    `    at ${pick(r, ["SessionStore.refresh", "Router.handle", "Pool.acquire", "Consumer.poll"])} (src/${mod}.ts:${20 + Math.floor(r() * 200)}:${5 + Math.floor(r() * 40)})`,
    "    at processTicksAndRejections (node:internal/process/task_queues:95:5)",
    `    at async runTest (node_modules/vitest/dist/runner.js:${1000 + Math.floor(r() * 900)}:7)`,
  ].join("\n");
}

/** Builds the ~16 KiB test-run result: per-test records, two failures with stack traces, a log tail, coverage. */
function buildResult16k(): AISPMessage {
  const r = rng(20240201);
  const tests = [];
  for (let i = 0; i < 56; i++) {
    const mod = pick(r, MODULES);
    const failed = i === 17 || i === 33;
    const line = 10 + Math.floor(r() * 180);
    tests.push({
      name: `${mod} > ${pick(r, VERBS)} ${pick(r, OBJECTS)}`,
      file: `tests/${mod}.test.ts`,
      status: failed ? "failed" : "passed",
      durationMs: Math.round(r() * 4000) / 10,
      ...(failed ? { error: { message: "AssertionError: values differ", stack: stackTrace(r, mod, line) } } : {}),
    });
  }
  const log: string[] = [];
  for (let i = 0; i < 80; i++) {
    const t = new Date(T0 + i * 137).toISOString();
    const line = pick(r, LOGS).replace("{n}", String(1 + Math.floor(r() * 9000))).replace("{ms}", String(Math.floor(r() * 250)));
    log.push(`${t} ${i % 11 === 7 ? "WARN " : "INFO "}${line}`);
  }
  const coverage = MODULES.map((m) => ({
    path: `src/${m}.ts`,
    lines: { covered: 40 + Math.floor(r() * 200), total: 250 },
    branches: { covered: 10 + Math.floor(r() * 40), total: 52 },
    functions: { pct: Math.round(600 + r() * 400) / 10 },
  }));
  return {
    v: 1,
    id: "0190b5c9-02d4-7a11-8c3e-7d2f4e9a1b60",
    opId: "0190b5c9-02d4-7a11-8c3e-7d2f4e9a1b61",
    type: "result",
    sender: "tester-agent",
    receiver: "coder-agent-2",
    timestamp: T0 + 245_871,
    spec: {
      preconditions: ["∀f ∈ ChangedFiles: compiled(f) = ⊤", "snapshot(repo) = snapSha"],
      task: "verify ≜ λpr.runTests(affected(pr)) ∧ coverage(affected(pr)) ≥ 0.85",
      postconditions: ["∀t ∈ affected(pr): passed(t) = ⊤", "coverage(src/auth) ≥ 0.85"],
      evidence: {
        prover: "vitest",
        method: "test-execution",
        confidence: 0.92,
        details: "54 of 56 tests passed; 2 failures in session refresh (see payload.tests); line coverage 0.87",
      },
    },
    tier: "bronze",
    payload: {
      status: "failed",
      summary: { total: 56, passed: 54, failed: 2, skipped: 0, durationMs: 8412.6 },
      command: "npx vitest run --reporter=json --coverage tests/auth tests/http tests/db",
      tests,
      log: log.join("\n"),
      coverage,
    },
    snapSha: "9f3c2a7e41b0d8c5",
    conversationId: "conv-auth-refresh-2291",
    replyTo: "0190b5c2-7f3a-7c41-9e2d-5b8a1f6c3d20",
    traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01",
  };
}

/** The ~16 KiB result message. */
export const result16k: AISPMessage = buildResult16k();

/** The three benchmark messages, smallest first. */
export const MESSAGES: readonly BenchMessage[] = [
  { name: "seed", msg: seed },
  { name: "1 KiB task", msg: task1k },
  { name: "16 KiB result", msg: result16k },
];

// ---------------------------------------------------------------------------
// Numbered copies of the seed, for the bus benchmarks

/** Per process, so two runs against one Redis never share an id. */
const nonce = (Date.now() & 0xffffffff).toString(16).padStart(8, "0");
let serial = 0;

/** The seed message with the next id and opId of this run (UUID-shaped), and `extra` fields on top. */
export function numbered(extra: Partial<AISPMessage> = {}): AISPMessage {
  const hex = (serial++).toString(16).padStart(12, "0");
  return { ...seed, id: `${nonce}-0000-7000-8000-${hex}`, opId: `${nonce}-0001-7000-8000-${hex}`, ...extra } as AISPMessage;
}

/** Messages encoded ahead of a timed run, with the headers a store keeps beside each. */
export interface Prepared {
  bytes: Uint8Array[];
  /** `storedHeaders()` of each message: what ampd's add stores (docs/storage.md). */
  headers: EntryHeaders[];
}

/**
 * `n` numbered messages, encoded, with their stored headers; `extra(i)` adds
 * fields to message i (a `payload`, say).
 *
 * @example
 * ```ts
 * const msgs = prepare(1000, (i) => ({ payload: { seq: i } }));
 * await backend.add("s", { headers: msgs.headers[0], msg: msgs.bytes[0] });
 * ```
 */
export function prepare(n: number, extra?: (i: number) => Partial<AISPMessage>): Prepared {
  const bytes: Uint8Array[] = new Array(n);
  const headers: EntryHeaders[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const m = numbered(extra?.(i));
    bytes[i] = encode(m);
    headers[i] = storedHeaders(m);
  }
  return { bytes, headers };
}
