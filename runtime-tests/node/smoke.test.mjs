// Node smoke suite: the npm build (dist/), plus every golden vector byte for byte
// and every refused vector refused at its offset.
// Run: npx tsc -p tsconfig.build.json && node --test runtime-tests/node/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import {
  AISPMessageBuilder,
  AISPMessageSerializer,
  compressBytes,
  compressMessage,
  decode,
  DecodeError,
  decompressBytes,
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
} from "../../dist/mod.js";

const hex = (b) => Buffer.from(b).toString("hex");
const unhex = (s) => new Uint8Array(Buffer.from(s, "hex"));

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

test("runtime is detected as node", () => {
  assert.equal(runtime, "node");
});

test("build, encode, compress, sign, verify, decode", async () => {
  const msg = bigMessage();
  assert.equal(msg.tier, "platinum");
  const bytes = encode(msg);
  assert.deepEqual(decode(bytes), msg);

  const { signingKey, verifyingKey } = await generateKeyPair("node-ed");
  const signed = await sign(msg, signingKey);
  const packed = await compressMessage(signed);
  assert.ok(packed.compressed !== undefined);
  const wire = encode(packed);
  assert.ok(wire.length < bytes.length / 3, "compression shrinks");
  const received = decode(wire);
  assert.equal(await verify(received, [verifyingKey]), true);
  assert.equal(await verify({ ...received, sender: "mallory" }, [verifyingKey]), false);
  assert.deepEqual(await decompressMessage(received), signed);

  const hmac = await generateHmacKey("team");
  assert.equal(await verify(await sign(msg, hmac), [hmac]), true);
  const jwk = await exportKey(signingKey, "jwk");
  const again = await importKey({ alg: "ed25519", kid: "node-ed", use: "sign", jwk });
  assert.equal(await verify(await sign(msg, again), [verifyingKey]), true);

  const small = await AISPMessageSerializer.encodeCompressed(msg);
  assert.deepEqual(await AISPMessageSerializer.decodeExpanded(small), msg);
});

test("bad bytes and unknown versions are typed errors", () => {
  const bytes = encode(bigMessage());
  for (const bad of [bytes.subarray(0, 10), new Uint8Array([0xc1]), new Uint8Array([...bytes, 0])]) {
    assert.throws(() => decode(bad), (e) => e instanceof DecodeError && e.code === "BAD_BYTES");
  }
  assert.throws(
    () => decode(encodeValue({ ...bigMessage(), v: 2 })),
    (e) => e instanceof DecodeError && e.code === "UNKNOWN_VERSION",
  );
});

test("CompressionStream and node:zlib output decompress with each other", async () => {
  const raw = new TextEncoder().encode("∀x ∈ X: ok(x) ∧ done(x)\n".repeat(500));
  try {
    for (const [a, b] of [["CompressionStream", "node:zlib"], ["node:zlib", "CompressionStream"]]) {
      setCompressionEngine(a);
      const z = await compressBytes(raw);
      setCompressionEngine(b);
      assert.deepEqual(await decompressBytes(z), raw, `${a} -> ${b}`);
    }
  } finally {
    setCompressionEngine(undefined);
  }
});

test("golden vectors, byte for byte", async () => {
  const dir = new URL("../../tests/vectors/", import.meta.url);
  const seed = Uint8Array.from({ length: 32 }, (_, i) => i);
  const ed = await importKey({ alg: "ed25519", kid: "vector-ed25519", use: "sign", raw: seed });
  const { kty, crv, x } = await exportKey(ed, "jwk");
  const keys = [
    await importKey({ alg: "ed25519", kid: "vector-ed25519", use: "verify", jwk: { kty, crv, x } }),
    await importKey({ alg: "hmac-sha256", kid: "vector-hmac", use: "verify", raw: new TextEncoder().encode("ampbus golden vector secret 2024") }),
  ];
  const files = (await readdir(dir)).filter((f) => f.endsWith(".json"));
  assert.ok(files.length >= 8, `at least 8 vectors (found ${files.length})`);
  for (const f of files) {
    const v = JSON.parse(await readFile(new URL(f, dir), "utf8"));
    const message = deserialize(JSON.stringify(v.message));
    assert.deepEqual(decode(unhex(v.hex)), message, `${v.name}: decode(hex)`);
    assert.equal(hex(encode(message)), v.hex, `${v.name}: encode(message)`);
    if (message.sig) assert.equal(await verify(message, keys), true, `${v.name}: signature verifies`);
    if (message.compressed) assert.ok((await decompressMessage(message)).payload !== undefined, `${v.name}: inflates`);
  }
});

test("refused vectors: BAD_BYTES at the byte offset each names", async () => {
  const dir = new URL("../../tests/vectors/refused/", import.meta.url);
  const files = (await readdir(dir)).filter((f) => f.endsWith(".json"));
  assert.ok(files.length >= 10, `at least 10 refused vectors (found ${files.length})`);
  for (const f of files) {
    const v = JSON.parse(await readFile(new URL(f, dir), "utf8"));
    assert.throws(
      () => decode(unhex(v.hex)),
      (e) => e instanceof DecodeError && e.code === v.error.code && e.offset === v.error.offset,
      `refused/${v.name}`,
    );
  }
});
