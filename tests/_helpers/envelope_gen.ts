/**
 * Seeded generators of envelopes for differential tests: `validMessages()`
 * gives valid messages that cover every field and optional field at its
 * boundaries (lengths 0/1/128/129 and the like, Unicode, numbers at their
 * limits); `mutatedMessages()` gives the same messages with one to three
 * mutations each (fields removed, added, of the wrong type or out of range,
 * bad patterns, nested objects broken, `__proto__`-ish keys, arrays for
 * objects...), mostly invalid, some still valid.
 *
 * Valid messages are plain data (Uint8Array for bytes fields, well-formed
 * UTF-16 strings, payloads that `encodeValue()` accepts), so they encode and
 * round-trip. Mutated ones are plain data too unless `hostile: true`, which
 * adds values only a JavaScript caller can make: getters (that throw or not),
 * proxies, symbol and non-enumerable keys, fields inherited from a
 * prototype, class instances, functions, Dates, Maps, other typed arrays.
 *
 * @example
 * ```ts
 * for (const m of validMessages(1, 1000)) expect(validate(m).ok).toBe(true);
 * for (const m of mutatedMessages(2, 1000, { hostile: true })) quick(m) === schema(m);
 * ```
 *
 * @module
 */
import { prng, type Rng } from "./prng.ts";

type Obj = Record<string, unknown>;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

// Characters of different UTF-8 widths: ASCII, 2-byte, 3-byte, and an astral one (2 UTF-16 units).
const ASCII = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/ ";
const WIDE = ["é", "ß", "λ", "∀", "≜", "⊤", "中", "\u00a0", "\ufeff", "\u2028", "😀", "𝔸", "\0", "\n", "\"", "\\"];

// Text to cut strings from: mostly ASCII, some with every UTF-8 width. Cutting is
// much faster than building each string a character at a time.
const POOL_ASCII = (() => {
  const rng = prng(0xa5c11);
  let s = "";
  while (s.length < 8192) s += ASCII[rng.int(0, ASCII.length - 1)];
  return s;
})();
const POOL_UNICODE = (() => {
  const rng = prng(0x1c0de);
  let s = "";
  while (s.length < 8192) s += rng.next() < 0.3 ? rng.pick(WIDE) : ASCII[rng.int(0, ASCII.length - 1)];
  return s;
})();

const isHigh = (c: number) => c >= 0xd800 && c < 0xdc00;
const isLow = (c: number) => c >= 0xdc00 && c < 0xe000;

/** A well-formed string of exactly `n` UTF-16 code units (no surrogate pair cut in two). */
function text(rng: Rng, n: number): string {
  if (n > 4096) return text(rng, n % 4096) + text(rng, 4096).repeat(Math.floor(n / 4096));
  const pool = rng.next() < 0.3 ? POOL_UNICODE : POOL_ASCII;
  let start = rng.int(0, pool.length - n - 1);
  if (isLow(pool.charCodeAt(start))) start++;
  const s = pool.slice(start, start + n);
  return n > 0 && isHigh(s.charCodeAt(n - 1)) ? s.slice(0, n - 1) + "x" : s;
}

/** A length in [min, max], biased to both ends and their neighbours. */
function len(rng: Rng, min: number, max: number): number {
  const r = rng.next();
  if (r < 0.15) return min;
  if (r < 0.25) return Math.min(min + 1, max);
  if (r < 0.35) return max;
  if (r < 0.42) return Math.max(max - 1, min);
  return rng.int(min, Math.min(max, min + 40));
}

const name = (rng: Rng) => text(rng, len(rng, 1, 128));
const hex = (rng: Rng, n: number) => {
  let s = "";
  for (let i = 0; i < n; i++) s += "0123456789abcdef"[rng.int(0, 15)];
  return s;
};

function epoch(rng: Rng): number {
  return rng.pick([0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, MAX_SAFE - 1, MAX_SAFE, 1706745600000 + rng.int(0, 1e9)]);
}

function confidence(rng: Rng): number {
  return rng.pick([0, 1, 0.5, 0.95, Number.MIN_VALUE, 1 - Number.EPSILON / 2, rng.next()]);
}

function bytes(rng: Rng): Uint8Array {
  return rng.bytes(rng.pick([0, 1, 32, 64, 255, 256, rng.int(0, 100)]));
}

const EDGE_NUMBERS = [-MAX_SAFE, MAX_SAFE, 2 ** 31, -(2 ** 31) - 1, 0.1, -1.5, 1e300];

/** A payload `encodeValue()` accepts: nested plain objects, arrays and scalars, no `__proto__` keys. */
function payload(rng: Rng, depth = 0): unknown {
  const r = rng.next();
  if (depth >= 3 || r < 0.4) {
    switch (rng.int(0, 6)) {
      case 0:
        return null;
      case 1:
        return rng.next() < 0.5;
      case 2:
        return rng.int(-1000, 1000);
      case 3:
        return rng.pick(EDGE_NUMBERS);
      case 4:
      case 5:
        return text(rng, rng.int(0, 40));
      default:
        return rng.bytes(rng.int(0, 8));
    }
  }
  if (r < 0.7) {
    const a: unknown[] = [];
    for (let i = rng.int(0, 5); i > 0; i--) a.push(payload(rng, depth + 1));
    return a;
  }
  const o: Obj = {};
  for (let i = rng.int(0, 5); i > 0; i--) o[text(rng, rng.int(1, 12))] = payload(rng, depth + 1);
  return o;
}

function strList(rng: Rng): string[] {
  const a: string[] = [];
  for (let i = rng.pick([0, 0, 1, 2, 3, 17]); i > 0; i--) a.push(text(rng, len(rng, 0, 60)));
  return a;
}

function evidence(rng: Rng): Obj {
  const e: Obj = {
    prover: name(rng),
    method: rng.pick(["static-analysis", "test-execution", "formal-verification"]),
    confidence: confidence(rng),
  };
  // The long boundaries are rarer: arktype quotes a refused string in its message, which is slow at 64 KiB.
  if (rng.next() < 0.4) e.details = text(rng, rng.next() < 0.1 ? rng.pick([65535, 65536]) : rng.pick([0, 1, 100]));
  return e;
}

function spec(rng: Rng): Obj {
  const s: Obj = { preconditions: strList(rng), task: text(rng, len(rng, 1, 200)), postconditions: strList(rng) };
  if (rng.next() < 0.5) s.evidence = evidence(rng);
  return s;
}

/** One valid message; each optional field present about half the time. */
function validMessage(rng: Rng): Obj {
  const m: Obj = {
    v: 1,
    id: name(rng),
    opId: name(rng),
    type: text(rng, len(rng, 1, 64)),
    sender: name(rng),
    receiver: rng.next() < 0.1 ? "broadcast" : name(rng),
    timestamp: epoch(rng),
  };
  const p = () => rng.next() < 0.5;
  const compressed = rng.next() < 0.2;
  if (!compressed && p()) {
    m.spec = spec(rng);
    m.tier = rng.pick(["platinum", "gold", "silver", "bronze", "reject"]);
  } else if (p()) m.tier = rng.pick(["platinum", "gold", "silver", "bronze", "reject"]);
  if (!compressed && p()) m.payload = payload(rng);
  if (p()) m.snapSha = hex(rng, len(rng, 7, 64));
  if (p()) m.conversationId = name(rng);
  if (p()) m.replyTo = name(rng);
  if (p()) m.expiresAt = epoch(rng);
  if (p()) m.traceparent = `${hex(rng, 2)}-${hex(rng, 32)}-${hex(rng, 16)}-${hex(rng, 2)}`;
  if (compressed) m.compressed = { alg: rng.pick(["deflate-raw", "gzip"]), size: epoch(rng), data: bytes(rng) };
  if (p()) m.sig = { alg: rng.pick(["ed25519", "hmac-sha256"]), kid: name(rng), value: bytes(rng) };
  return m;
}

/**
 * `n` valid messages from `seed`: plain data, every field and optional
 * field covered, lengths and numbers at their limits.
 */
export function validMessages(seed: number, n: number): Obj[] {
  const rng = prng(seed);
  const out: Obj[] = [];
  for (let i = 0; i < n; i++) out.push(validMessage(rng));
  return out;
}

// Where a mutation lands: the message or one of its nested objects (made if absent).
type Site = { obj: Obj; keys: readonly string[] };
const ENVELOPE_KEYS = [
  "v", "id", "opId", "type", "sender", "receiver", "timestamp", "spec", "tier", "payload", "snapSha",
  "conversationId", "replyTo", "expiresAt", "traceparent", "compressed", "sig",
] as const;

function sites(m: Obj): Site[] {
  const out: Site[] = [{ obj: m, keys: ENVELOPE_KEYS }];
  const s = m.spec as Obj | undefined;
  if (s !== undefined && typeof s === "object" && s !== null && !Array.isArray(s)) {
    out.push({ obj: s, keys: ["preconditions", "task", "postconditions", "evidence"] });
    const e = s.evidence as Obj | undefined;
    if (e !== undefined && typeof e === "object" && e !== null) out.push({ obj: e, keys: ["prover", "method", "confidence", "details"] });
  }
  for (const [k, keys] of [["compressed", ["alg", "size", "data"]], ["sig", ["alg", "kid", "value"]]] as const) {
    const o = m[k];
    if (typeof o === "object" && o !== null && !Array.isArray(o) && !(o instanceof Uint8Array)) out.push({ obj: o as Obj, keys });
  }
  return out;
}

/** Wrong or borderline values of any type, plain data only. */
const ODD_VALUES: ((rng: Rng) => unknown)[] = [
  (_rng) => undefined,
  (_rng) => null,
  (_rng) => true,
  (_rng) => 0,
  (_rng) => 1,
  (_rng) => -1,
  (_rng) => -0,
  (_rng) => 1.5,
  (_rng) => NaN,
  (_rng) => Infinity,
  (_rng) => -Infinity,
  (_rng) => MAX_SAFE,
  (_rng) => MAX_SAFE + 1,
  (_rng) => 2,
  (_rng) => "",
  (_rng) => "1",
  (_rng) => "x",
  (rng) => text(rng, 128),
  (rng) => text(rng, 129),
  (rng) => text(rng, 64),
  (rng) => text(rng, 65),
  (_rng) => "gold",
  (_rng) => "Gold",
  (_rng) => "gzip",
  (_rng) => "ed25519",
  (_rng) => "test-execution",
  (rng) => hex(rng, 7),
  (rng) => hex(rng, 6),
  (rng) => hex(rng, 64),
  (rng) => hex(rng, 65),
  (rng) => hex(rng, 8).toUpperCase(),
  (rng) => `${hex(rng, 2)}-${hex(rng, 32)}-${hex(rng, 16)}-${hex(rng, 2)}`,
  (rng) => `${hex(rng, 2)}-${hex(rng, 32)}-${hex(rng, 16)}-${hex(rng, 2)}\n`,
  (rng) => `${hex(rng, 2)}_${hex(rng, 32)}-${hex(rng, 16)}-${hex(rng, 2)}`,
  (rng) => `${hex(rng, 3)}-${hex(rng, 31)}-${hex(rng, 16)}-${hex(rng, 2)}`,
  (_rng) => "\ud800", // a lone surrogate: a string like any other to the schema
  (_rng) => [],
  (_rng) => ["a", "b"],
  (_rng) => ["a", 1],
  (_rng) => [undefined],
  (_rng) => ({}),
  (_rng) => ({ alg: "gzip" }),
  (_rng) => new Uint8Array(3),
  (rng) => spec(rng),
  (rng) => evidence(rng),
  (_rng) => ({ alg: "gzip", size: 1, data: new Uint8Array(1) }),
  (_rng) => ({ alg: "ed25519", kid: "k", value: new Uint8Array(1) }),
  (rng) => payload(rng),
];

function oddValue(rng: Rng): unknown {
  return rng.pick(ODD_VALUES)(rng);
}

/** Values only JavaScript code can hand to validate(). */
const HOSTILE_VALUES: ((rng: Rng) => unknown)[] = [
  (_rng) => () => 1,
  (rng) => Object.assign(() => 1, spec(rng)),
  (_rng) => new Date(0),
  (_rng) => new Map(),
  (_rng) => new Uint16Array(2),
  (_rng) => new ArrayBuffer(2),
  (_rng) => new String("x"),
  (_rng) => 1n,
  (_rng) => Symbol("s"),
  (_rng) => new Proxy(["a"], {}),
  (_rng) => Object.create(Array.prototype),
  (_rng) => Object.setPrototypeOf(["a"], null),
  (_rng) => Object.create(Uint8Array.prototype),
  (rng) => Object.assign(Object.create(null), evidence(rng)),
  (_rng) => new (class Spec { preconditions = []; task = "t"; postconditions = [] })(),
];

function hostileValue(rng: Rng): unknown {
  return rng.pick(HOSTILE_VALUES)(rng);
}

/** Defines `key` on `o` as an own, enumerable data property (so `__proto__` is a key, not the prototype). */
function define(o: Obj, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, configurable: true, writable: true });
}

function mutateOnce(rng: Rng, m: Obj, hostile: boolean): Obj {
  const site = rng.pick(sites(m));
  const o = site.obj;
  const key = rng.pick(site.keys);
  const r = rng.int(0, hostile ? 15 : 9);
  switch (r) {
    case 0: // remove a field
      delete o[key];
      break;
    case 1:
    case 2:
    case 3: // a wrong or borderline value
      o[key] = oddValue(rng);
      break;
    case 4: // an unknown field, some named like Object.prototype's
      define(o, rng.pick(["extra", "__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "V", "id ", "0", ""]), oddValue(rng));
      break;
    case 5: // the cross-field rules: spec without tier, compressed with spec or payload
      if (rng.next() < 0.5) {
        m.spec = spec(rng);
        if (rng.next() < 0.7) delete m.tier;
      } else {
        m.compressed = { alg: "gzip", size: 10, data: new Uint8Array(2) };
        if (rng.next() < 0.5) m.spec = spec(rng);
        else m.payload = rng.next() < 0.3 ? undefined : payload(rng);
      }
      break;
    case 6: // a nested object replaced by a list, a string, bytes
      m[rng.pick(["spec", "compressed", "sig"])] = rng.pick<unknown>([[], [spec(rng)], "x", new Uint8Array(1), null, undefined]);
      break;
    case 7: // a condition list broken
      if (typeof m.spec === "object" && m.spec !== null) {
        const list = rng.pick(["preconditions", "postconditions"]);
        (m.spec as Obj)[list] = rng.pick<unknown>([new Array(2), ["ok", 1], ["ok", null], { 0: "a", length: 1 }, "a", [text(rng, 3)]]);
      }
      break;
    case 8: // length boundaries of a string field
      o[key] = text(rng, rng.next() < 0.05 ? rng.pick([65536, 65537]) : rng.pick([0, 1, 63, 64, 65, 127, 128, 129]));
      break;
    case 9: // numbers at and past their limits
      o[key] = rng.pick([-1, -0, 0, 1, 1 + Number.EPSILON, 0.5, MAX_SAFE, MAX_SAFE + 1, 2 ** 53 + 2, -MAX_SAFE, 1e-320]);
      break;
    case 10: // a value of a kind plain data cannot hold
      o[key] = hostileValue(rng);
      break;
    case 11: // a getter: one that throws, or one that returns a valid value
      if (rng.next() < 0.5) {
        Object.defineProperty(o, key, { get() { throw new Error("boom"); }, enumerable: rng.next() < 0.8, configurable: true });
      } else {
        const v = o[key];
        Object.defineProperty(o, key, { get: () => v, enumerable: true, configurable: true });
      }
      break;
    case 12: // a symbol key, enumerable or not
      Object.defineProperty(o, Symbol("k"), { value: 1, enumerable: rng.next() < 0.5, configurable: true });
      break;
    case 13: // a non-enumerable own key (not an unknown field to the schema)
      Object.defineProperty(o, rng.pick(["extra", key]), { value: oddValue(rng), enumerable: false, configurable: true, writable: true });
      break;
    case 14: // fields inherited from a prototype: they count as present
      Object.setPrototypeOf(o, rng.pick([
        { tier: "gold" },
        { extra: 1 },
        { snapSha: rng.pick(["zz", hex(rng, 7)]) },
        { sig: { alg: "ed25519", kid: "k", value: new Uint8Array(1) } },
        null,
      ]));
      break;
    case 15: { // the whole message in a proxy
      if (rng.next() < 0.3) {
        const { proxy, revoke } = Proxy.revocable(m, {});
        revoke();
        return proxy as Obj;
      }
      const odd = oddValue(rng);
      return new Proxy(m, rng.pick<ProxyHandler<Obj>>([
        {},
        { has: (t, k) => k !== key && k in t },
        { get: (t, k) => (k === key ? odd : t[k as string]) },
        { ownKeys: () => { throw new Error("no keys"); } },
      ]));
    }
  }
  return m;
}

/**
 * `n` messages from `seed`, each a valid message with one to three
 * mutations: mostly invalid, some still valid. Plain data (what a decoder
 * could produce, plus `undefined`, NaN and the like) unless
 * `hostile: true`, which adds getters, proxies, symbol keys, prototypes
 * and non-plain objects.
 */
export function mutatedMessages(seed: number, n: number, options: { hostile?: boolean } = {}): unknown[] {
  const rng = prng(seed);
  const hostile = options.hostile ?? false;
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    let m = validMessage(rng);
    for (let k = rng.int(1, 3); k > 0; k--) {
      let next = m;
      try {
        next = mutateOnce(rng, m, hostile);
      } catch {
        // A getter that throws, or one without a setter, stopped this mutation half-way: keep what it did.
      }
      if (next !== m) {
        m = next; // a proxy: no mutation after it (its traps may throw)
        break;
      }
    }
    out.push(m);
  }
  return out;
}
