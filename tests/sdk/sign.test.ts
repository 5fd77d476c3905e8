import { describe, expect, test } from "bun:test";
import {
  type AISPMessage,
  assertSigned,
  compressMessage,
  decode,
  encode,
  exportKey,
  generateHmacKey,
  generateKeyPair,
  importKey,
  sign,
  SignatureError,
  type SigningKey,
  signedBytes,
  ValidationError,
  verify,
  type VerifyingKey,
} from "../../mod.ts";
import { minimal, rejection, seedMessage } from "./_fixtures.ts";

const SEED = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

function full(): AISPMessage {
  return {
    ...seedMessage(),
    payload: { files: ["a.ts"], n: 3, raw: new Uint8Array([1, 2]) },
    snapSha: "0123abcd",
    conversationId: "conv",
    replyTo: "prev",
    expiresAt: 1706745660000,
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  };
}

function flipChar(s: string): string {
  return s.slice(0, -1) + (s.endsWith("a") ? "b" : "a");
}

/** One tampered copy per field of a signed message. */
function tamperings(m: AISPMessage): [string, AISPMessage][] {
  const out: [string, AISPMessage][] = [];
  for (const f of ["id", "opId", "type", "sender", "receiver", "conversationId", "replyTo"] as const) {
    out.push([f, { ...m, [f]: flipChar(m[f]!) }]);
  }
  out.push(["timestamp", { ...m, timestamp: m.timestamp + 1 }]);
  out.push(["expiresAt", { ...m, expiresAt: m.expiresAt! + 1 }]);
  out.push(["snapSha", { ...m, snapSha: "0123abce" }]);
  out.push(["traceparent", { ...m, traceparent: m.traceparent!.replace(/01$/, "00") }]);
  out.push(["tier", { ...m, tier: "gold" }]);
  out.push(["spec.task", { ...m, spec: { ...m.spec!, task: m.spec!.task + " " } }]);
  out.push(["spec.preconditions", { ...m, spec: { ...m.spec!, preconditions: [] } }]);
  out.push(["spec.evidence.confidence", { ...m, spec: { ...m.spec!, evidence: { ...m.spec!.evidence!, confidence: 0.96 } } }]);
  out.push(["payload", { ...m, payload: { files: ["a.ts"], n: 4, raw: new Uint8Array([1, 2]) } }]);
  out.push(["payload bytes", { ...m, payload: { files: ["a.ts"], n: 3, raw: new Uint8Array([1, 3]) } }]);
  out.push(["payload removed", (({ payload: _p, ...r }) => r)(m)]);
  const value = m.sig!.value.slice();
  value[10] ^= 1;
  out.push(["sig.value", { ...m, sig: { ...m.sig!, value } }]);
  out.push(["sig.value truncated", { ...m, sig: { ...m.sig!, value: m.sig!.value.subarray(1) } }]);
  return out;
}

async function pairs() {
  const ed = await generateKeyPair("ed-1");
  const hmac = await generateHmacKey("hmac-1");
  return [
    { name: "ed25519", signing: ed.signingKey as SigningKey, verifying: ed.verifyingKey as VerifyingKey },
    { name: "hmac-sha256", signing: hmac as SigningKey, verifying: hmac as VerifyingKey },
  ];
}

describe("sign / verify", async () => {
  for (const { name, signing, verifying } of await pairs()) {
    test(`${name}: a signed message verifies, also after encode/decode`, async () => {
      const signed = await sign(full(), signing);
      expect(signed.sig!.alg).toBe(name as never);
      expect(signed.sig!.kid).toBe(signing.kid);
      expect(signed.sig!.value.length).toBe(name === "ed25519" ? 64 : 32);
      expect(await verify(signed, [verifying])).toBe(true);
      expect(await verify(decode(encode(signed)), [verifying])).toBe(true);
      expect(await assertSigned(signed, [verifying])).toBe(verifying);
    });

    test(`${name}: tampering with any field makes verify false`, async () => {
      const signed = await sign(full(), signing);
      for (const [field, bad] of tamperings(signed)) {
        if (await verify(bad, [verifying])) throw new Error(`tampered ${field} still verifies`);
      }
      const e = (await rejection(assertSigned({ ...signed, sender: "mallory" }, [verifying]))) as SignatureError;
      expect(e.code).toBe("BAD_SIGNATURE");
    });

    test(`${name}: sign-then-compress still verifies; tampering with compressed data does not`, async () => {
      const big = { ...full(), payload: { log: "∀x ∈ X: ok(x) ".repeat(300) } };
      const signed = await sign(big, signing);
      const packed = await compressMessage(signed);
      expect(packed.compressed).toBeDefined();
      expect(await verify(packed, [verifying])).toBe(true);
      expect(await verify(decode(encode(packed)), [verifying])).toBe(true);
      const data = packed.compressed!.data.slice();
      data[data.length >> 1] ^= 0x40;
      expect(await verify({ ...packed, compressed: { ...packed.compressed!, data } }, [verifying])).toBe(false);
    });
  }

  test("wrong kid, wrong algorithm, wrong key, unsigned", async () => {
    const [ed, hmac] = await pairs();
    const other = await generateKeyPair("ed-1"); // same kid, different key
    const signed = await sign(minimal(), ed.signing);
    expect(await verify(signed, [hmac.verifying])).toBe(false);
    expect(((await rejection(assertSigned(signed, [hmac.verifying]))) as SignatureError).code).toBe("UNKNOWN_KEY");
    expect(await verify(signed, [other.verifyingKey])).toBe(false);
    expect(((await rejection(assertSigned(signed, [other.verifyingKey]))) as SignatureError).code).toBe("BAD_SIGNATURE");
    const liar = { ...hmac.verifying, kid: "ed-1" };
    expect(((await rejection(assertSigned(signed, [liar]))) as SignatureError).code).toBe("KEY_MISMATCH");
    expect(await verify({ ...signed, sig: { ...signed.sig!, kid: "nobody" } }, [ed.verifying])).toBe(false);
    expect(await verify(minimal(), [ed.verifying])).toBe(false);
    expect(((await rejection(assertSigned(minimal(), [ed.verifying]))) as SignatureError).code).toBe("UNSIGNED");
  });

  test("key rings: list, record by kid, sync or async lookup; inherited names are not kids", async () => {
    const [ed] = await pairs();
    const signed = await sign(minimal(), ed.signing);
    expect(await verify(signed, { "ed-1": ed.verifying })).toBe(true);
    expect(await verify(signed, (kid) => (kid === "ed-1" ? ed.verifying : undefined))).toBe(true);
    expect(await verify(signed, async () => ed.verifying)).toBe(true);
    const sneaky = { ...signed, sig: { ...signed.sig!, kid: "constructor" } };
    expect(await verify(sneaky, { "ed-1": ed.verifying })).toBe(false);
  });

  test("signing an invalid message throws ValidationError; the signed bytes leave sig out", async () => {
    const [ed] = await pairs();
    expect(await rejection(sign({ ...minimal(), id: "" }, ed.signing))).toBeInstanceOf(ValidationError);
    const signed = await sign(minimal(), ed.signing);
    expect(await signedBytes(signed)).toEqual(encode(minimal()));
  });

  test("verify() is false, never a throw, for hostile input: not a message, garbage or private keys, a key ring that throws", async () => {
    const { signingKey, verifyingKey } = await generateKeyPair("ed-1");
    const signed = await sign(minimal(), signingKey);
    const hmac = await generateHmacKey("ed-1");
    const hostileMessages: unknown[] = [
      null,
      undefined,
      42,
      "a string",
      [],
      {},
      { ...signed, get sig(): never { throw new Error("getter"); } },
      new Proxy(signed, { get() { throw new Error("trap"); } }),
      { ...signed, sig: null },
      { ...signed, sig: { ...signed.sig!, value: "not bytes" } },
    ];
    for (const m of hostileMessages) expect(await verify(m as AISPMessage, [verifyingKey])).toBe(false);
    const hostileRings: unknown[] = [
      null,
      undefined,
      42,
      () => {
        throw new Error("key ring down");
      },
      () => Promise.reject(new Error("key ring down")),
      () => null,
      () => ({ alg: "ed25519", kid: "ed-1", key: "not a key" }),
      () => ({ alg: "ed25519", kid: "ed-1", key: null }),
      [null, { alg: "ed25519", kid: "ed-1", key: {} }],
      [{ alg: "ed25519", kid: "ed-1", key: signingKey.key }], // a private key cannot verify
      [{ alg: "ed25519", kid: "ed-1", key: hmac.key }], // an HMAC key labelled Ed25519
      { "ed-1": { get alg(): never { throw new Error("getter"); } } },
      new Proxy({}, { getOwnPropertyDescriptor() { throw new Error("trap"); } }),
    ];
    for (const ring of hostileRings) expect(await verify(signed, ring as never)).toBe(false);
    expect(await verify(signed, [verifyingKey])).toBe(true);
  });

  test("assertSigned says why in its own error codes: ValidationError, UNKNOWN_KEY for a failing ring, KEY_MISMATCH for a key that cannot verify", async () => {
    const { signingKey } = await generateKeyPair("ed-1");
    const signed = await sign(minimal(), signingKey);
    expect(await rejection(assertSigned(null as never, []))).toBeInstanceOf(ValidationError);
    const down = (await rejection(assertSigned(signed, () => { throw new Error("key ring down"); }))) as SignatureError;
    expect([down.code, (down.cause as Error).message]).toEqual(["UNKNOWN_KEY", "key ring down"]);
    const priv = (await rejection(assertSigned(signed, [{ alg: "ed25519", kid: "ed-1", key: signingKey.key }]))) as SignatureError;
    expect(priv).toBeInstanceOf(SignatureError);
    expect(priv.code).toBe("KEY_MISMATCH");
    const junk = (await rejection(assertSigned(signed, [{ alg: "ed25519", kid: "ed-1", key: "x" as never }]))) as SignatureError;
    expect(junk.code).toBe("KEY_MISMATCH");
  });

  test("a signature over a message with an invalid field fails verify rather than throwing", async () => {
    const [ed] = await pairs();
    const signed = await sign(minimal(), ed.signing);
    expect(await verify({ ...signed, sender: "" }, [ed.verifying])).toBe(false);
  });
});

describe("keys", () => {
  test("Ed25519 from a fixed seed is deterministic, and raw export gives the seed back", async () => {
    const k1 = await importKey({ alg: "ed25519", kid: "fixed", use: "sign", raw: SEED });
    const k2 = await importKey({ alg: "ed25519", kid: "fixed", use: "sign", raw: SEED });
    const a = await sign(minimal(), k1);
    const b = await sign(minimal(), k2);
    expect(a.sig!.value).toEqual(b.sig!.value);
    expect(await exportKey(k1, "raw")).toEqual(SEED);
  });

  test("Ed25519 JWK round trips, private and public", async () => {
    const { signingKey, verifyingKey } = await generateKeyPair("j");
    const privJwk = await exportKey(signingKey, "jwk");
    const pubJwk = await exportKey(verifyingKey, "jwk");
    expect(privJwk.kty).toBe("OKP");
    expect(privJwk.crv).toBe("Ed25519");
    expect(pubJwk.d).toBeUndefined();
    const s2 = await importKey({ alg: "ed25519", kid: "j", use: "sign", jwk: privJwk });
    const v2 = await importKey({ alg: "ed25519", kid: "j", use: "verify", jwk: pubJwk });
    const signed = await sign(minimal(), s2);
    expect(await verify(signed, [verifyingKey])).toBe(true);
    expect(await verify(await sign(minimal(), signingKey), [v2])).toBe(true);
  });

  test("Ed25519 raw public key round trips", async () => {
    const { signingKey, verifyingKey } = await generateKeyPair("r");
    const raw = await exportKey(verifyingKey, "raw");
    expect(raw.length).toBe(32);
    const v2 = await importKey({ alg: "ed25519", kid: "r", use: "verify", raw });
    expect(await verify(await sign(minimal(), signingKey), [v2])).toBe(true);
    const seed = await exportKey(signingKey, "raw");
    const s2 = await importKey({ alg: "ed25519", kid: "r", use: "sign", raw: seed });
    expect(await verify(await sign(minimal(), s2), [verifyingKey])).toBe(true);
  });

  test("HMAC raw and JWK round trips; a fixed secret gives a fixed signature", async () => {
    const secret = new TextEncoder().encode("a shared secret of the team, 32b");
    const k = await importKey({ alg: "hmac-sha256", kid: "team", use: "sign", raw: secret });
    expect(await exportKey(k, "raw")).toEqual(secret);
    const jwk = await exportKey(k, "jwk");
    expect(jwk.kty).toBe("oct");
    const k2 = await importKey({ alg: "hmac-sha256", kid: "team", use: "verify", jwk });
    const a = await sign(minimal(), k);
    expect(await verify(a, [k2])).toBe(true);
    expect((await sign(minimal(), k2)).sig!.value).toEqual(a.sig!.value);
    const generated = await generateHmacKey("g");
    expect((await exportKey(generated, "raw")).length).toBe(32);
  });

  test("bad key input is refused", async () => {
    expect(await rejection(importKey({ alg: "ed25519", kid: "x", use: "sign", raw: new Uint8Array(31) }))).toBeInstanceOf(TypeError);
    expect(await rejection(importKey({ alg: "ed25519", kid: "x", use: "sign" }))).toBeInstanceOf(TypeError);
    expect(await rejection(importKey({ alg: "ed25519", kid: "x", use: "sign", raw: SEED, jwk: {} }))).toBeInstanceOf(TypeError);
    expect(await rejection(importKey({ alg: "rsa" as never, kid: "x", use: "sign", raw: SEED }))).toBeInstanceOf(TypeError);
  });
});
