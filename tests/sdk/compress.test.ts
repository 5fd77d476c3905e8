import { afterEach, describe, expect, test } from "bun:test";
import { deflateRawSync } from "node:zlib";
import {
  AISPMessageSerializer,
  compress,
  compressBytes,
  CompressionError,
  type CompressionEngine,
  compressionEngine,
  compressMessage,
  decode,
  decompress,
  decompressBytes,
  decompressMessage,
  encode,
  encodeValue,
  setCompressionEngine,
  ValidationError,
} from "../../mod.ts";
import { minimal, noise, rejection, seedMessage } from "./_fixtures.ts";

const ENGINES: CompressionEngine[] = ["node:zlib", "CompressionStream", "polyfill"];
afterEach(() => setCompressionEngine(undefined));

function bigText(n: number): string {
  const words = ["∀f ∈ Files:", "compiled(f)", "∧", "tests", "pass", "coverage ≥ 0.8", "agent", "handoff"];
  let s = "";
  for (let i = 0; s.length < n; i++) s += words[(i * 7) % words.length] + " ";
  return s;
}

const bigMessage = () => ({ ...seedMessage(), payload: { log: bigText(8000), n: 1 } });

// 100 MB of zeros deflate to about 100 KB: a classic bomb.
const BOMB = new Uint8Array(deflateRawSync(new Uint8Array(100 * 1024 * 1024), { level: 9 }));

describe("compress / decompress", () => {
  test("spec and payload round trip; size is the uncompressed length", async () => {
    const m = bigMessage();
    const packed = await compress(m);
    expect(packed.alg).toBe("deflate-raw");
    expect(packed.size).toBe(encodeValue({ spec: m.spec, payload: m.payload }).length);
    expect(packed.data.length).toBeLessThan(packed.size / 4);
    expect(await decompress(packed)).toEqual({ spec: m.spec, payload: m.payload });
    const gz = await compress(m, { alg: "gzip" });
    expect([gz.data[0], gz.data[1]]).toEqual([0x1f, 0x8b]);
    expect(await decompress(gz)).toEqual({ spec: m.spec, payload: m.payload });
  });

  for (const from of ENGINES) {
    for (const to of ENGINES) {
      test(`${from} output decompresses with ${to} (deflate-raw and gzip)`, async () => {
        const raw = new TextEncoder().encode(bigText(20000));
        for (const alg of ["deflate-raw", "gzip"] as const) {
          setCompressionEngine(from);
          expect(await compressionEngine()).toBe(from);
          const z = await compressBytes(raw, { alg });
          setCompressionEngine(to);
          expect(await decompressBytes(z, { alg })).toEqual(raw);
        }
      });
    }
  }

  for (const engine of ENGINES) {
    test(`${engine}: a 100 MB bomb is refused with DECOMPRESSION_LIMIT, declared size small or large`, async () => {
      setCompressionEngine(engine);
      for (const size of [1000, 16 * 1024 * 1024]) {
        const e = (await rejection(decompress({ alg: "deflate-raw", size, data: BOMB }))) as CompressionError;
        expect(e).toBeInstanceOf(CompressionError);
        expect(e.code).toBe("DECOMPRESSION_LIMIT");
      }
      const e = (await rejection(decompressBytes(BOMB, { maxSize: 4096 }))) as CompressionError;
      expect(e.code).toBe("DECOMPRESSION_LIMIT");
      expect(BOMB.byteLength).toBeGreaterThan(0); // the input was not detached
    });

    test(`${engine}: corrupt data is CORRUPT_COMPRESSED and the input is left intact`, async () => {
      setCompressionEngine(engine);
      const junk = noise(200, 7);
      const e = (await rejection(decompressBytes(junk))) as CompressionError;
      expect(e).toBeInstanceOf(CompressionError);
      expect(e.code).toBe("CORRUPT_COMPRESSED");
      const good = await compressBytes(new TextEncoder().encode(bigText(3000)));
      const cut = good.subarray(0, good.length >> 1);
      expect(((await rejection(decompressBytes(cut))) as CompressionError).code).toBe("CORRUPT_COMPRESSED");
      expect(good.byteLength).toBeGreaterThan(0);
      expect(junk).toEqual(noise(200, 7));
    });
  }

  test("a declared size over the limit is refused before inflating", async () => {
    const e = (await rejection(decompress({ alg: "deflate-raw", size: 2 ** 40, data: BOMB }))) as CompressionError;
    expect(e.code).toBe("DECOMPRESSION_LIMIT");
    expect(e.message).toContain("compressed.size");
  });

  test("a size that does not match the real output is corrupt", async () => {
    const packed = await compress(bigMessage());
    const e = (await rejection(decompress({ ...packed, size: packed.size + 10 }))) as CompressionError;
    expect(e.code).toBe("CORRUPT_COMPRESSED");
    const e2 = (await rejection(decompress({ ...packed, size: packed.size - 10 }))) as CompressionError;
    expect(e2.code).toBe("DECOMPRESSION_LIMIT");
  });

  test("compressed bodies that are not a {spec, payload} map are corrupt", async () => {
    for (const body of [[1, 2], { spec: 1, extra: 2 }, "text"]) {
      const raw = encodeValue(body);
      const data = await compressBytes(raw);
      const e = (await rejection(decompress({ alg: "deflate-raw", size: raw.length, data }))) as CompressionError;
      expect(e.code).toBe("CORRUPT_COMPRESSED");
    }
  });

  test("unknown algorithms are refused", async () => {
    const e = (await rejection(compressBytes(new Uint8Array(1), { alg: "brotli" as never }))) as CompressionError;
    expect(e.code).toBe("UNSUPPORTED_ALGORITHM");
    const e2 = (await rejection(decompressBytes(new Uint8Array(1), { alg: "zstd" as never }))) as CompressionError;
    expect(e2.code).toBe("UNSUPPORTED_ALGORITHM");
  });
});

describe("compressMessage", () => {
  test("a big message moves spec and payload into compressed; decompressMessage restores it", async () => {
    const m = bigMessage();
    const packed = await compressMessage(m);
    expect(packed.spec).toBeUndefined();
    expect(packed.payload).toBeUndefined();
    expect(packed.compressed!.alg).toBe("deflate-raw");
    expect(encode(packed).length).toBeLessThan(encode(m).length / 3);
    expect(await decompressMessage(decode(encode(packed)))).toEqual(m);
  });

  test("never makes a message bigger: small and incompressible payloads stay unchanged", async () => {
    const small = seedMessage();
    expect(await compressMessage(small)).toBe(small);
    expect(await compressMessage(small, { threshold: 0 })).toBe(small); // compressing would not pay
    const random = minimal({ payload: noise(4096, 99) });
    expect(await compressMessage(random)).toBe(random);
    expect(await compressMessage(random, { threshold: 0 })).toBe(random);
    const event = minimal();
    expect(await compressMessage(event, { threshold: 0 })).toBe(event);
    for (const m of [small, random, event, bigMessage()]) {
      expect((await AISPMessageSerializer.encodeCompressed(m, { threshold: 0 })).length).toBeLessThanOrEqual(encode(m).length);
    }
  });

  test("the threshold decides", async () => {
    const m = bigMessage();
    const size = encodeValue({ spec: m.spec, payload: m.payload }).length;
    expect(await compressMessage(m, { threshold: size })).toBe(m);
    expect((await compressMessage(m, { threshold: size - 1 })).compressed).toBeDefined();
  });

  test("encodeCompressed / decodeExpanded round trip", async () => {
    const m = bigMessage();
    const bytes = await AISPMessageSerializer.encodeCompressed(m);
    expect(bytes.length).toBeLessThan(encode(m).length);
    expect(decode(bytes).compressed).toBeDefined();
    expect(await AISPMessageSerializer.decodeExpanded(bytes)).toEqual(m);
  });

  test("decompressMessage holds the inner spec to the schema", async () => {
    const raw = encodeValue({ spec: { preconditions: [1], task: "", postconditions: [] } });
    const data = await compressBytes(raw);
    const m = minimal({ tier: "gold", compressed: { alg: "deflate-raw", size: raw.length, data } });
    const e = (await rejection(decompressMessage(m))) as ValidationError;
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.issues.map((i) => i.path.join(".")).sort()).toEqual(["spec.preconditions.0", "spec.task"]);
  });
});
