// Deno smoke suite: the SDK straight from mod.ts, plus every golden vector byte for byte
// and every refused vector refused at its offset.
// Run: npx deno test --allow-read --allow-env runtime-tests/deno/
import {
  AISPMessageBuilder,
  AISPMessageSerializer,
  compressBytes,
  compressMessage,
  decompressBytes,
  decode,
  DecodeError,
  decompressMessage,
  deserialize,
  encode,
  encodeValue,
  exportKey,
  generateHmacKey,
  generateKeyPair,
  importKey,
  runtime,
  setCompressionEngine,
  sign,
  verify,
} from "../../mod.ts";

function assertEquals(actual: unknown, expected: unknown, what = "value"): void {
  const a = canonical(actual);
  const e = canonical(expected);
  if (a !== e) throw new Error(`${what}: expected ${e.slice(0, 400)}, got ${a.slice(0, 400)}`);
}
// JSON with sorted keys and bytes spelled out, so equal values compare equal whatever their key order.
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) => {
    if (x instanceof Uint8Array) return { bytes: Array.from(x) };
    if (x && typeof x === "object" && !Array.isArray(x)) {
      return Object.fromEntries(Object.keys(x).sort().map((k) => [k, (x as Record<string, unknown>)[k]]));
    }
    return x;
  });
}
function assert(cond: unknown, what: string): void {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

function bigMessage() {
  return new AISPMessageBuilder()
    .setSender("coder-agent")
    .setReceiver("tester-agent")
    .setPreconditions(["∀f ∈ CodeFiles: compiled(f) = ⊤"])
    .setTask("validate ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8")
    .setPostconditions(["∀t ∈ Tests: passed(t) = ⊤"])
    .setEvidence({ prover: "jest", method: "test-execution", confidence: 0.95 })
    .setPayload({ log: "∀x ∈ X: ok(x) ∧ done(x)\n".repeat(200), raw: new Uint8Array([1, 2, 3]) })
    .build();
}

Deno.test("runtime is detected as deno", () => {
  assertEquals(runtime, "deno");
});

Deno.test("build, encode, compress, sign, verify, decode", async () => {
  const msg = bigMessage();
  assertEquals(msg.tier, "platinum", "tier");
  const bytes = encode(msg);
  assertEquals(decode(bytes), msg, "decode(encode)");

  const { signingKey, verifyingKey } = await generateKeyPair("deno-ed");
  const signed = await sign(msg, signingKey);
  const packed = await compressMessage(signed);
  assert(packed.compressed !== undefined, "compressed");
  const wire = encode(packed);
  assert(wire.length < bytes.length / 3, "compression shrinks");
  const received = decode(wire);
  assert(await verify(received, [verifyingKey]), "ed25519 verifies after compression");
  assert(!(await verify({ ...received, sender: "mallory" }, [verifyingKey])), "tampered fails");
  assertEquals(await decompressMessage(received), signed, "decompressMessage");

  const hmac = await generateHmacKey("team");
  assert(await verify(await sign(msg, hmac), [hmac]), "hmac verifies");
  const jwk = await exportKey(signingKey, "jwk");
  const again = await importKey({ alg: "ed25519", kid: "deno-ed", use: "sign", jwk });
  assert(await verify(await sign(msg, again), [verifyingKey]), "jwk round trip");

  const small = await AISPMessageSerializer.encodeCompressed(msg);
  assertEquals(await AISPMessageSerializer.decodeExpanded(small), msg, "encodeCompressed round trip");
});

Deno.test("bad bytes and unknown versions are typed errors", () => {
  const bytes = encode(bigMessage());
  for (const bad of [bytes.subarray(0, 10), new Uint8Array([0xc1]), new Uint8Array([...bytes, 0])]) {
    let code = "";
    try {
      decode(bad);
    } catch (e) {
      code = e instanceof DecodeError ? e.code : String(e);
    }
    assertEquals(code, "BAD_BYTES", "code");
  }
  let version = "";
  try {
    decode(encodeValue({ ...bigMessage(), v: 2 }));
  } catch (e) {
    version = e instanceof DecodeError ? e.code : String(e);
  }
  assertEquals(version, "UNKNOWN_VERSION", "v: 2");
});

Deno.test("CompressionStream and node:zlib output decompress with each other", async () => {
  const raw = new TextEncoder().encode("∀x ∈ X: ok(x) ∧ done(x)\n".repeat(500));
  try {
    for (const [a, b] of [["CompressionStream", "node:zlib"], ["node:zlib", "CompressionStream"]] as const) {
      setCompressionEngine(a);
      const z = await compressBytes(raw);
      setCompressionEngine(b);
      assertEquals(await decompressBytes(z), raw, `${a} -> ${b}`);
    }
  } finally {
    setCompressionEngine(undefined);
  }
});

Deno.test("golden vectors, byte for byte", async () => {
  const dir = new URL("../../tests/vectors/", import.meta.url);
  const seed = Uint8Array.from({ length: 32 }, (_, i) => i);
  const ed = await importKey({ alg: "ed25519", kid: "vector-ed25519", use: "sign", raw: seed });
  const { kty, crv, x } = await exportKey(ed, "jwk");
  const keys = [
    await importKey({ alg: "ed25519", kid: "vector-ed25519", use: "verify", jwk: { kty, crv, x } }),
    await importKey({ alg: "hmac-sha256", kid: "vector-hmac", use: "verify", raw: new TextEncoder().encode("ampbus golden vector secret 2024") }),
  ];
  let count = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".json")) continue;
    const v = JSON.parse(await Deno.readTextFile(new URL(entry.name, dir)));
    const message = deserialize(JSON.stringify(v.message));
    assertEquals(decode(unhex(v.hex)), message, `${v.name}: decode(hex)`);
    assertEquals(hex(encode(message)), v.hex, `${v.name}: encode(message)`);
    if (message.sig) assert(await verify(message, keys), `${v.name}: signature verifies`);
    if (message.compressed) assert((await decompressMessage(message)).payload !== undefined, `${v.name}: inflates`);
    count++;
  }
  assert(count >= 8, `at least 8 vectors (found ${count})`);
});

Deno.test("refused vectors: BAD_BYTES at the byte offset each names", async () => {
  const dir = new URL("../../tests/vectors/refused/", import.meta.url);
  let count = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".json")) continue;
    const v = JSON.parse(await Deno.readTextFile(new URL(entry.name, dir)));
    let got: unknown;
    try {
      decode(unhex(v.hex));
    } catch (e) {
      got = e instanceof DecodeError ? { code: e.code, offset: e.offset } : String(e);
    }
    assertEquals(got, v.error, `refused/${v.name}`);
    count++;
  }
  assert(count >= 10, `at least 10 refused vectors (found ${count})`);
});
