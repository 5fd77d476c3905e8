/**
 * Writes the golden test vectors: `bun tests/vectors/generate.ts`.
 * Run once and commit; every runtime then checks that decode(hex) equals the
 * message and encode(message) equals hex byte for byte. Everything here is
 * fixed (ids, timestamps, the Ed25519 seed, the HMAC secret), so re-running
 * it reproduces the same files.
 *
 * `refused/*.json` are negative vectors: bytes every decoder must refuse,
 * with the error code and the offset of the byte at fault. Their offsets are
 * worked out here from how the bytes are built, not from a decoder.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { concat, mpStr, seedMessage } from "../sdk/_fixtures.ts";
import { join } from "node:path";
import { type AISPMessage, compressBytes, encode, encodeValue, importKey, serialize, setCompressionEngine, sign } from "../../mod.ts";

const dir = import.meta.dirname;
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

const seed: AISPMessage = seedMessage();

const event: AISPMessage = {
  v: 1,
  id: "0192f7e5-3c1a-7b2e-9d4f-1a2b3c4d5e6f",
  opId: "tick-42",
  type: "obs.tick",
  sender: "planner",
  receiver: "monitor",
  timestamp: 1706745600123,
};

const broadcast: AISPMessage = { ...event, id: "0192f7e5-3c1a-7b2e-9d4f-000000000002", opId: "bc-1", type: "patch.applied", receiver: "broadcast" };

const allValues: AISPMessage = {
  ...event,
  id: "values-1",
  opId: "values-1",
  type: "result",
  payload: {
    zeta: "last by code point",
    alpha: [0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 9007199254740991],
    negatives: [-1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -9007199254740991],
    floats: [0.5, -1.25, 0.1, 1e300, 9007199254740992],
    bytes: new Uint8Array([0, 1, 2, 253, 254, 255]),
    unicode: "héllo wörld € 😀 𝔹 ∀x∈X",
    nested: { b: { d: [true, false, null], c: {} }, a: [] },
    "\ue000": "private use (U+E000) sorts before astral keys",
    "😀": "astral key",
    "É": "2-byte key",
    long: "x".repeat(300),
  },
};

// Text that a lenient decoder mangles: a leading U+FEFF (TextDecoder drops it by
// default) and U+FFFD written on purpose (which must not be mistaken for a replacement).
const textEdges: AISPMessage = {
  ...event,
  id: "text-1",
  opId: "text-1",
  type: "result",
  payload: {
    bom: "\ufeffstarts with a byte order mark",
    "\ufeff": "a key that is only U+FEFF",
    replacement: "U+FFFD on purpose: \ufffd",
    "\ufffd": "a key that is U+FFFD",
    long: "\ufeff" + "\ufffd∀".repeat(20) + " long enough for every decoder's long-string path",
    largest: [9007199254740991, -9007199254740991],
  },
};

async function compressedVector(): Promise<AISPMessage> {
  // node:zlib at level 1 makes the bytes; any engine inflates them.
  setCompressionEngine("node:zlib");
  const body = { payload: { log: "∀f ∈ Files: compiled(f) ∧ tests(f) = ⊤\n".repeat(40) } };
  const raw = encodeValue(body);
  const data = await compressBytes(raw, { level: 1 });
  setCompressionEngine(undefined);
  return { ...event, id: "compressed-1", opId: "compressed-1", type: "log.batch", compressed: { alg: "deflate-raw", size: raw.length, data } };
}

const ED25519_SEED = Uint8Array.from({ length: 32 }, (_, i) => i); // 00 01 02 ... 1f
const HMAC_SECRET = new TextEncoder().encode("ampbus golden vector secret 2024");

async function vectors(): Promise<[string, string, AISPMessage][]> {
  const ed = await importKey({ alg: "ed25519", kid: "vector-ed25519", use: "sign", raw: ED25519_SEED });
  const hm = await importKey({ alg: "hmac-sha256", kid: "vector-hmac", use: "sign", raw: HMAC_SECRET });
  const every: AISPMessage = {
    ...seed,
    id: "every-1",
    opId: "op-every-1",
    type: "task.review",
    receiver: "reviewer",
    payload: { files: ["sdk/codec.ts"], attempt: 2 },
    snapSha: "0123456789abcdef0123456789abcdef01234567",
    conversationId: "conv-7",
    replyTo: "msg-000",
    expiresAt: 1706749200000,
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  };
  return [
    ["seed", "The AISP plan's example message with a fixed id and timestamp (grades platinum, 0.9342).", seed],
    ["event-minimal", "An event without spec or payload: only the required fields.", event],
    ["broadcast", "A message to every agent.", broadcast],
    ["payload-values", "A payload with every value type: shortest ints at each boundary, negatives, float64, unsafe integer as float64, bytes, unicode, nested maps with keys sorted by code point.", allValues],
    ["compressed", "spec+payload deflated (raw DEFLATE, node:zlib level 1) into compressed.", await compressedVector()],
    ["sig-ed25519", "The seed example signed with Ed25519 from the fixed seed 000102...1f, kid vector-ed25519 (Ed25519 is deterministic).", await sign(seed, ed)],
    ["sig-hmac-sha256", "An event signed with HMAC-SHA256, secret \"ampbus golden vector secret 2024\" (UTF-8), kid vector-hmac.", await sign(event, hm)],
    ["every-field", "Every optional envelope field present, signed with the Ed25519 vector key.", await sign(every, ed)],
    ["text-edges", "Strings that must decode unchanged: a leading U+FEFF (byte order mark) in values and keys, U+FFFD written on purpose, and the largest safe integers (±(2^53 − 1)).", textEdges],
  ];
}

/** A refused vector: `bytes` must be refused with `code`, naming `offset`. */
interface Refused {
  name: string;
  description: string;
  bytes: Uint8Array;
  offset: number;
}

// The event with `payload` last: its nil is swapped for the bytes under test.
const withPayload = encode({ ...event, id: "refused-1", opId: "refused-1", payload: null });
const payloadAt = withPayload.length - 1;
function payload(bytes: number[] | Uint8Array, at: number): { bytes: Uint8Array; offset: number } {
  return { bytes: concat(withPayload.subarray(0, payloadAt), bytes), offset: payloadAt + at };
}

/** The event's bytes with the encoded value of field `name` replaced by `value` (of the same length). */
function field(name: string, value: number[], at: number): { bytes: Uint8Array; offset: number } {
  const bytes = encode(event);
  const key = mpStr(name);
  let i = 0;
  while (!key.every((b, k) => bytes[i + k] === b)) i++;
  const start = i + key.length;
  bytes.set(value, start);
  return { bytes, offset: start + at };
}

const utf8 = (s: string) => Array.from(new TextEncoder().encode(s));

function refused(): Refused[] {
  const longBad = [...utf8("∀".repeat(30)), 0xff, ...utf8("abcdefghi")]; // 100 bytes: str 8
  return [
    { name: "uint64-2pow53", description: "A uint 64 of 2^53 in the payload: outside ±(2^53 − 1), a JavaScript number would hold 2^53 + 1 the same way.", ...payload([0xcf, 0x00, 0x20, 0, 0, 0, 0, 0, 0], 0) },
    { name: "uint64-max", description: "A uint 64 of 2^64 − 1 inside a payload array (it would round to 18446744073709551616).", ...payload([0x92, 0x01, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 2) },
    { name: "int64-minus-2pow53", description: "An int 64 of −2^53 in a payload map.", ...payload([0x81, 0xa1, 0x6e, 0xd3, 0xff, 0xe0, 0, 0, 0, 0, 0, 0], 3) },
    { name: "timestamp-over-safe", description: "timestamp as a uint 64 of 2^53 + 1: refused as bytes, before validation would see a rounded 2^53.", ...field("timestamp", [0xcf, 0x00, 0x20, 0, 0, 0, 0, 0, 1], 0) },
    { name: "utf8-lone-continuation", description: "A payload string with a continuation byte 0x80 and no lead byte.", ...payload([0xa3, 0x61, 0x80, 0x62], 2) },
    { name: "utf8-truncated", description: "A payload string ending inside a 3-byte sequence (e2 82, the start of €).", ...payload([0xa5, 0x6f, 0x6b, 0x20, 0xe2, 0x82], 4) },
    { name: "utf8-overlong", description: "An overlong 2-byte form of '/' (c0 af).", ...payload([0xa2, 0xc0, 0xaf], 1) },
    { name: "utf8-surrogate", description: "A UTF-16 surrogate (U+D800) written as 3 bytes (ed a0 80), as CESU-8 does.", ...payload([0xa4, 0x78, 0xed, 0xa0, 0x80], 2) },
    { name: "utf8-above-10ffff", description: "A 4-byte sequence above U+10FFFF (f4 90 80 80).", ...payload([0xa4, 0xf4, 0x90, 0x80, 0x80], 1) },
    { name: "utf8-long-string", description: "A 100-byte payload string (str 8) with a stray 0xff after 90 bytes of ∀.", ...payload([0xd9, longBad.length, ...longBad], 2 + 90) },
    { name: "utf8-in-key", description: "A payload map key with a lead byte 0xc3 followed by '(' instead of a continuation byte.", ...payload([0x81, 0xa2, 0xc3, 0x28, 0x01], 2) },
    { name: "utf8-in-sender", description: "sender \"plann\\xe9r\": é in Latin-1 (0xe9), not UTF-8.", ...field("sender", [0xa7, ...utf8("plann"), 0xe9, ...utf8("r")], 6) },
    { name: "extension-type", description: "A MessagePack extension type (fixext 1) as the payload.", ...payload([0xd4, 0x01, 0x00], 0) },
    { name: "proto-key", description: "The map key __proto__ in the payload.", ...payload([0x81, ...mpStr("__proto__"), 0x01], 1) },
    { name: "duplicate-key", description: "A payload map with the key \"a\" twice (the offset is the second key).", ...payload([0x82, 0xa1, 0x61, 0x01, 0xa1, 0x61, 0x02], 4) },
    { name: "non-string-key", description: "A payload map with the int key 1.", ...payload([0x81, 0x01, 0x01], 1) },
    { name: "reserved-c1", description: "The byte 0xc1, which MessagePack never uses, as the payload.", ...payload([0xc1], 0) },
  ];
}

for (const [name, description, message] of await vectors()) {
  const file = join(dir, `${name}.json`);
  const out = { name, description, message: JSON.parse(serialize(message)), hex: hex(encode(message)) };
  writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
  console.log(`${name}: ${out.hex.length / 2} bytes`);
}

mkdirSync(join(dir, "refused"), { recursive: true });
for (const r of refused()) {
  const out = { name: r.name, description: r.description, hex: hex(r.bytes), error: { code: "BAD_BYTES", offset: r.offset } };
  writeFileSync(join(dir, "refused", `${r.name}.json`), JSON.stringify(out, null, 2) + "\n");
  console.log(`refused/${r.name}: ${r.bytes.length} bytes, fault at ${r.offset}`);
}
