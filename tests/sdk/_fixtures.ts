/** Shared fixtures of the SDK suites: the seed example and byte helpers. */
import type { AISPMessage } from "../../mod.ts";

/** The example message of the AISP plan (seeds/aisp-message-format.txt), as a v1 envelope. */
export function seedMessage(): AISPMessage {
  return {
    v: 1,
    id: "msg-001",
    opId: "msg-001",
    type: "task",
    sender: "coder-agent",
    receiver: "tester-agent",
    timestamp: 1706745600000,
    spec: {
      preconditions: ["∀f ∈ CodeFiles: compiled(f) = ⊤"],
      task: "validate ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8",
      postconditions: ["∀t ∈ Tests: passed(t) = ⊤"],
      evidence: { prover: "jest", method: "test-execution", confidence: 0.95 },
    },
    tier: "platinum",
  };
}

/** The smallest valid envelope. */
export function minimal(extra: Partial<AISPMessage> = {}): AISPMessage {
  return { v: 1, id: "m-1", opId: "m-1", type: "obs.tick", sender: "a", receiver: "b", timestamp: 1, ...extra };
}

export function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

export function unhex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A MessagePack fixstr / str8 of ASCII or UTF-8 text. */
export function mpStr(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  if (b.length < 32) return concat([0xa0 | b.length], b);
  return concat([0xd9, b.length], b);
}

/** Deterministic pseudo-random bytes (xorshift32), for incompressible payloads. */
export function noise(n: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Async function's rejection, for asserting on error fields. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

/** Sync function's error, for asserting on error fields. */
export function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}
