/**
 * Writes the golden test vectors: `bun tests/vectors/generate.ts`.
 * Run once and commit; every runtime then checks that decode(hex) equals the
 * message and encode(message) equals hex byte for byte. Everything here is
 * fixed (ids, timestamps, the Ed25519 seed, the HMAC secret), so re-running
 * it reproduces the same files.
 */
import { writeFileSync } from "node:fs";
import { seedMessage } from "../sdk/_fixtures.ts";
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
  ];
}

for (const [name, description, message] of await vectors()) {
  const file = join(dir, `${name}.json`);
  const out = { name, description, message: JSON.parse(serialize(message)), hex: hex(encode(message)) };
  writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
  console.log(`${name}: ${out.hex.length / 2} bytes`);
}
