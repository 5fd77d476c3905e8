// The differential test of the two forms of the envelope check: the plain-JS
// isValidMessage() (sdk/envelope/quick_check.ts) must say valid exactly when
// the arktype schema does (validateWithSchema), over QUICK_CHECK_N mutated
// messages (default 100 000) plus valid and hostile ones, under every policy.
import { describe, expect, test } from "bun:test";
import { isValidMessage } from "../../sdk/envelope/quick_check.ts";
import { validate, validateWithSchema, type ValidationPolicy } from "../../sdk/envelope/schema.ts";
import { mutatedMessages, validMessages } from "../_helpers/envelope_gen.ts";

// deno-lint-ignore no-explicit-any
const N = Number((globalThis as any).process?.env?.QUICK_CHECK_N ?? 100_000);
const SEED = 0x5eed;

const POLICIES: (ValidationPolicy | undefined)[] = [
  undefined,
  {},
  { requireSnapSha: true },
  { requireSig: true },
  { requireSnapSha: true, requireSig: true },
];

function describeValue(m: unknown): string {
  try {
    return JSON.stringify(m, (_k, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v === undefined ? "<undefined>" : v)).slice(0, 400);
  } catch (e) {
    return `(cannot print: ${e})`;
  }
}

/**
 * Compares the two forms on each message, under no policy and under every
 * policy; returns the first few disagreements and how many messages the
 * schema found valid and invalid (under no policy). A policy only adds
 * requirements, so a message the schema refuses without one it refuses
 * under every one: there the quick check alone is asked (it must say false),
 * which keeps arktype's slow error path to one call per message.
 */
function compare(messages: unknown[]) {
  const mismatches: string[] = [];
  let valid = 0;
  let invalid = 0;
  const report = (i: number, p: ValidationPolicy | undefined, quick: boolean, schema: ReturnType<typeof validateWithSchema>) => {
    if (mismatches.length >= 5) return;
    const why = schema.ok ? "schema: ok" : `schema: ${schema.issues.map((x) => x.message).join("; ")}`;
    mismatches.push(`#${i} policy ${JSON.stringify(p)}: quick ${quick}, ${why}\n  ${describeValue(messages[i])}`);
  };
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    const base = validateWithSchema(m);
    const quick = isValidMessage(m);
    if (quick !== base.ok) report(i, undefined, quick, base);
    if (base.ok) valid++;
    else invalid++;
    for (let k = 1; k < POLICIES.length; k++) {
      const p = POLICIES[k];
      const q = isValidMessage(m, p);
      if (!base.ok) {
        if (q) report(i, p, q, base);
        continue;
      }
      const schema = validateWithSchema(m, p);
      if (q !== schema.ok) report(i, p, q, schema);
    }
  }
  return { mismatches, valid, invalid };
}

describe("isValidMessage agrees with the arktype schema", () => {
  test(`on ${N} mutated messages, under every policy`, () => {
    const messages = mutatedMessages(SEED, N);
    const r = compare(messages);
    expect(r.mismatches).toEqual([]);
    // The generator must produce both outcomes in bulk, or the comparison proves little.
    expect(r.valid).toBeGreaterThan(N * 0.05);
    expect(r.invalid).toBeGreaterThan(N * 0.7);
  }, 120_000);

  test(`on ${Math.ceil(N / 5)} valid messages, under every policy`, () => {
    const messages = validMessages(SEED + 1, Math.ceil(N / 5));
    const r = compare(messages);
    expect(r.mismatches).toEqual([]);
    // Under no policy every generated message is valid.
    expect(r.valid).toBe(messages.length);
  }, 60_000);

  test(`on ${Math.ceil(N / 5)} hostile messages (getters, proxies, symbols, prototypes, non-plain values)`, () => {
    const messages = mutatedMessages(SEED + 2, Math.ceil(N / 5), { hostile: true });
    const r = compare(messages);
    expect(r.mismatches).toEqual([]);
    expect(r.valid).toBeGreaterThan(N / 5 * 0.05);
  }, 60_000);
});

describe("validate() takes the fast path and keeps the schema's answers", () => {
  test("a valid message is returned as is; an invalid one gets the schema's issues", () => {
    const [m] = validMessages(7, 1);
    const r = validate(m);
    expect(r.ok && (r.value as unknown) === m).toBe(true);
    for (const bad of mutatedMessages(8, 2000)) {
      const a = validate(bad);
      const b = validateWithSchema(bad);
      expect(a.ok).toBe(b.ok);
      if (!a.ok && !b.ok) expect(a.issues).toEqual(b.issues);
    }
  });

  test("a getter that throws is still reported at its path", () => {
    const [m] = validMessages(9, 1);
    Object.defineProperty(m, "sender", { get() { throw new Error("boom"); }, enumerable: true });
    expect(isValidMessage(m)).toBe(false);
    const r = validate(m);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues).toHaveLength(1);
      expect(r.issues[0].path).toEqual(["sender"]);
      expect(r.issues[0].message).toContain("reading sender threw (Error: boom)");
    }
  });

  test("a revoked proxy and a proxy whose ownKeys throws are refused, not thrown from", () => {
    const { proxy, revoke } = Proxy.revocable(validMessages(10, 1)[0], {});
    revoke();
    expect(isValidMessage(proxy)).toBe(false);
    expect(validate(proxy).ok).toBe(false);
    const keysThrow = new Proxy(validMessages(11, 1)[0], { ownKeys: () => { throw new Error("no keys"); } });
    expect(isValidMessage(keysThrow)).toBe(false);
    expect(validate(keysThrow).ok).toBe(false);
  });
});
