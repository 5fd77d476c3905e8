import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { decode, DecodeError, decodeValue, decompressMessage, deserialize, encode, exportKey, grade, importKey, verify } from "../../mod.ts";
import { hex, unhex } from "./_fixtures.ts";

const dir = join(import.meta.dirname, "..", "vectors");
const vectors = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as { name: string; description: string; message: unknown; hex: string });
const refusedDir = join(dir, "refused");
const refused = readdirSync(refusedDir)
  .filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(join(refusedDir, f), "utf8")) as { name: string; description: string; hex: string; error: { code: string; offset: number } });

async function vectorKeys() {
  const seed = Uint8Array.from({ length: 32 }, (_, i) => i);
  const ed = await importKey({ alg: "ed25519", kid: "vector-ed25519", use: "sign", raw: seed });
  const { kty, crv, x } = await exportKey(ed, "jwk");
  const edPublic = await importKey({ alg: "ed25519", kid: "vector-ed25519", use: "verify", jwk: { kty, crv, x } });
  const secret = new TextEncoder().encode("ampbus golden vector secret 2024");
  const hmac = await importKey({ alg: "hmac-sha256", kid: "vector-hmac", use: "verify", raw: secret });
  return [edPublic, hmac];
}

describe("golden vectors", () => {
  test("there are at least 8, each with name, description, message and hex", () => {
    expect(vectors.length).toBeGreaterThanOrEqual(8);
    for (const v of vectors) {
      expect(typeof v.name).toBe("string");
      expect(typeof v.description).toBe("string");
      expect(v.hex).toMatch(/^([0-9a-f]{2})+$/);
    }
  });

  for (const v of vectors) {
    test(`${v.name}: decode(hex) equals the message and encode(message) equals hex`, async () => {
      const message = deserialize(JSON.stringify(v.message));
      expect(decode(unhex(v.hex))).toEqual(message);
      expect(hex(encode(message))).toBe(v.hex);
      if (message.sig) expect(await verify(message, await vectorKeys())).toBe(true);
      if (message.compressed) {
        const full = await decompressMessage(message);
        expect(full.payload).toBeDefined();
        expect(full.compressed).toBeUndefined();
      }
    });
  }

  test("there are refused vectors for big integers and invalid UTF-8, each with code and offset", () => {
    expect(refused.length).toBeGreaterThanOrEqual(10);
    expect(refused.filter((v) => v.name.startsWith("utf8-")).length).toBeGreaterThanOrEqual(5);
    expect(refused.filter((v) => /int64|timestamp/.test(v.name)).length).toBeGreaterThanOrEqual(3);
    for (const v of refused) {
      expect(v.hex).toMatch(/^([0-9a-f]{2})+$/);
      expect(v.error.code).toBe("BAD_BYTES");
      expect(v.error.offset).toBeLessThan(v.hex.length / 2);
    }
  });

  for (const v of refused) {
    test(`refused/${v.name}: decode() and decodeValue() throw ${v.error.code} at offset ${v.error.offset}`, () => {
      for (const f of [decode, decodeValue]) {
        let err: unknown;
        try {
          f(unhex(v.hex));
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(DecodeError);
        const e = err as DecodeError;
        expect([e.code, e.offset]).toEqual([v.error.code, v.error.offset]);
        expect(e.message).toContain(`offset ${v.error.offset}`);
      }
    });
  }

  test("the seed vector grades platinum at 0.9342", () => {
    const seed = vectors.find((v) => v.name === "seed")!;
    const g = grade(deserialize(JSON.stringify(seed.message)).spec!);
    expect([g.tier, g.score]).toEqual(["platinum", 0.9342]);
  });
});
