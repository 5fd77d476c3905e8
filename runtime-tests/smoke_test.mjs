// The runtime smoke suite, one file for every runtime: Deno runs it against
// mod.ts, Node against the npm build dist/mod.js (see _shim.mjs). It builds,
// encodes, compresses, signs and verifies a task message; checks every golden
// vector byte for byte and every refused vector at its offset; and talks to a
// real ampd over its Unix socket, so a runtime permission or transport bug fails here.
// Run: npm run test:deno, npm run test:node (with_ampd.mjs starts ampd first).
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { ampdSocket, RUNTIME, sdk, test } from "./_shim.mjs";

const {
  AISPMessageBuilder,
  AISPMessageSerializer,
  compressBytes,
  compressMessage,
  connect,
  createMessage,
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
} = sdk;

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

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

/** The JSON files of a directory under tests/vectors/, parsed. */
async function vectors(sub) {
  const dir = new URL(`../tests/vectors/${sub}`, import.meta.url);
  const files = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort();
  return await Promise.all(files.map(async (f) => JSON.parse(await readFile(new URL(f, dir), "utf8"))));
}

test(`runtime is detected as ${RUNTIME}`, () => {
  assert.equal(runtime, RUNTIME);
});

if (RUNTIME === "deno") {
  // The suite's deno command grants what a user's program needs and no more, so a
  // snippet or doc that forgets one of these fails here first.
  test("deno: runs with exactly the permissions a user needs (net, read, write, env)", () => {
    const state = (name) => Deno.permissions.querySync({ name }).state;
    for (const name of ["net", "read", "write", "env"]) {
      assert.equal(state(name), "granted", `--allow-${name} is needed to reach ampd's socket`);
    }
    for (const name of ["run", "ffi", "sys"]) assert.notEqual(state(name), "granted", `--allow-${name} is not needed`);
  });
}

test("build, encode, compress, sign, verify, decode", async () => {
  const msg = bigMessage();
  assert.equal(msg.tier, "platinum");
  const bytes = encode(msg);
  assert.deepEqual(decode(bytes), msg);

  const { signingKey, verifyingKey } = await generateKeyPair(`${RUNTIME}-ed`);
  const signed = await sign(msg, signingKey);
  const packed = await compressMessage(signed);
  assert.ok(packed.compressed !== undefined, "compressed");
  const wire = encode(packed);
  assert.ok(wire.length < bytes.length / 3, "compression shrinks");
  const received = decode(wire);
  assert.equal(await verify(received, [verifyingKey]), true, "ed25519 verifies after compression");
  assert.equal(await verify({ ...received, sender: "mallory" }, [verifyingKey]), false, "tampered fails");
  assert.deepEqual(await decompressMessage(received), signed);

  const hmac = await generateHmacKey("team");
  assert.equal(await verify(await sign(msg, hmac), [hmac]), true, "hmac verifies");
  const jwk = await exportKey(signingKey, "jwk");
  const again = await importKey({ alg: "ed25519", kid: `${RUNTIME}-ed`, use: "sign", jwk });
  assert.equal(await verify(await sign(msg, again), [verifyingKey]), true, "jwk round trip");

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
  const seed = Uint8Array.from({ length: 32 }, (_, i) => i);
  const ed = await importKey({ alg: "ed25519", kid: "vector-ed25519", use: "sign", raw: seed });
  const { kty, crv, x } = await exportKey(ed, "jwk");
  const keys = [
    await importKey({ alg: "ed25519", kid: "vector-ed25519", use: "verify", jwk: { kty, crv, x } }),
    await importKey({ alg: "hmac-sha256", kid: "vector-hmac", use: "verify", raw: new TextEncoder().encode("ampbus golden vector secret 2024") }),
  ];
  const all = await vectors("");
  assert.ok(all.length >= 8, `at least 8 vectors (found ${all.length})`);
  for (const v of all) {
    const message = deserialize(JSON.stringify(v.message));
    assert.deepEqual(decode(unhex(v.hex)), message, `${v.name}: decode(hex)`);
    assert.equal(hex(encode(message)), v.hex, `${v.name}: encode(message)`);
    if (message.sig) assert.equal(await verify(message, keys), true, `${v.name}: signature verifies`);
    if (message.compressed) assert.ok((await decompressMessage(message)).payload !== undefined, `${v.name}: inflates`);
  }
});

test("refused vectors: BAD_BYTES at the byte offset each names", async () => {
  const all = await vectors("refused/");
  assert.ok(all.length >= 10, `at least 10 refused vectors (found ${all.length})`);
  for (const v of all) {
    assert.throws(
      () => decode(unhex(v.hex)),
      (e) => e instanceof DecodeError && e.code === v.error.code && e.offset === v.error.offset,
      `refused/${v.name}`,
    );
  }
});

test("ampd over its Unix socket: a signed, compressed message is stored once and read back byte for byte", async () => {
  const bus = await connect({ socket: ampdSocket(), name: `${RUNTIME}-smoke`, reconnect: false });
  try {
    const stream = `smoke.${RUNTIME}.${crypto.randomUUID()}`;
    const { signingKey, verifyingKey } = await generateKeyPair(`${RUNTIME}-bus`);
    const signed = await sign(bigMessage(), signingKey);
    const msg = await compressMessage(signed);
    const added = await bus.streamAdd(stream, msg);
    assert.equal(added.duplicate, false);
    assert.deepEqual(await bus.streamAdd(stream, msg), { ...added, duplicate: true }, "a second add of the opId stores nothing");

    const read = await bus.streamRead([stream]);
    assert.equal(read.length, 1);
    assert.equal(read[0].entryId, added.entryId);
    assert.equal(hex(read[0].bytes), hex(encode(msg)), "stored bytes are the canonical encoding");
    // Compared through the canonical encoding: on Node the byte fields are Buffer views of the socket's chunks.
    assert.equal(hex(encode(read[0].message)), hex(encode(msg)), "decodes to the message sent");
    assert.ok(read[0].message.sig.value instanceof Uint8Array, "signature bytes are a Uint8Array");
    assert.equal(await verify(read[0].message, [verifyingKey]), true, "signature verifies after the trip");
    assert.equal(hex(encode(await decompressMessage(read[0].message))), hex(encode(signed)), "inflates to the signed message");
    assert.deepEqual(await bus.streamRead([stream]), [], "the offset moved past the entry");
  } finally {
    await bus.close();
  }
});

test("ampd over its Unix socket: a subscription receives what another connection adds", async () => {
  const socket = ampdSocket();
  const [reader, writer] = await Promise.all([
    connect({ socket, name: `${RUNTIME}-reader`, reconnect: false }),
    connect({ socket, name: `${RUNTIME}-writer`, reconnect: false }),
  ]);
  try {
    const stream = `smoke.${RUNTIME}.${crypto.randomUUID()}`;
    const tick = (n) => createMessage({ type: "obs.tick", sender: `${RUNTIME}-writer`, receiver: "broadcast", payload: { n } });
    const it = reader.streamIter(stream, { from: "0" })[Symbol.asyncIterator]();
    await writer.streamAdd(stream, tick(1));
    assert.deepEqual((await it.next()).value.message.payload, { n: 1 });
    // The reader is subscribed by now: the next entry arrives as a push.
    const second = await writer.streamAdd(stream, tick(2));
    const { value } = await it.next();
    assert.equal(value.entryId, second.entryId);
    assert.deepEqual(value.message.payload, { n: 2 });
    await it.return?.();
  } finally {
    await Promise.all([reader.close(), writer.close()]);
  }
});
