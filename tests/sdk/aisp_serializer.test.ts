/**
 * The seed's serializer API to the letter: `AISPMessageSerializer.compress(message)`
 * returns a `CompressedPayload` of the whole message and `decompress(payload)` the
 * `AISPMessage` itself, so that `decompress(compress(m))` deep-equals `m`.
 */
import { describe, expect, test } from "bun:test";
import { AISPMessageSerializer, CompressionError, compressMessage, decode, DecodeError, encode, ValidationError } from "../../mod.ts";
import { seedMessage } from "./_fixtures.ts";

describe("AISPMessageSerializer.compress / decompress", () => {
  test("decompress(compress(m)) deep-equals m, for the seed example and a large payload", async () => {
    const seed = seedMessage();
    expect(await AISPMessageSerializer.decompress(await AISPMessageSerializer.compress(seed))).toEqual(seed);
    const big = { ...seedMessage(), payload: { log: "compiled 1 file\n".repeat(2000), n: 7, bytes: new Uint8Array([1, 2, 3]) } };
    const packed = await AISPMessageSerializer.compress(big);
    expect(packed.alg).toBe("deflate-raw");
    expect(packed.size).toBe(encode(big).length);
    expect(packed.data.length).toBeLessThan(packed.size / 10);
    expect(await AISPMessageSerializer.decompress(packed)).toEqual(big);
    const gz = await AISPMessageSerializer.compress(big, { alg: "gzip" });
    expect(gz.alg).toBe("gzip");
    expect(await AISPMessageSerializer.decompress(gz)).toEqual(big);
  });

  test("an invalid message is refused before compressing; a payload that is not a whole message after", async () => {
    await expect(AISPMessageSerializer.compress({ ...seedMessage(), sender: "" })).rejects.toBeInstanceOf(ValidationError);
    // The envelope's own compressed field holds only spec and payload: not a message.
    const inner = (await compressMessage({ ...seedMessage(), payload: "x".repeat(3000) })).compressed!;
    const e = await AISPMessageSerializer.decompress(inner).catch((x) => x);
    expect(e).toBeInstanceOf(DecodeError);
    expect((e as DecodeError).code).toBe("UNKNOWN_VERSION");
  });

  test("a size that lies, or is over the limit, is refused", async () => {
    const packed = await AISPMessageSerializer.compress(seedMessage());
    await expect(AISPMessageSerializer.decompress({ ...packed, size: packed.size - 1 })).rejects.toBeInstanceOf(CompressionError);
    await expect(AISPMessageSerializer.decompress({ ...packed, size: packed.size + 1 })).rejects.toBeInstanceOf(CompressionError);
    const limited = await AISPMessageSerializer.decompress(packed, { maxSize: 10 }).catch((x) => x);
    expect((limited as CompressionError).code).toBe("DECOMPRESSION_LIMIT");
  });

  test("the envelope's transparent compression is unchanged", async () => {
    const m = { ...seedMessage(), payload: "y".repeat(5000) };
    const bytes = await AISPMessageSerializer.encodeCompressed(m);
    expect(decode(bytes).compressed).toBeDefined();
    expect(await AISPMessageSerializer.decodeExpanded(bytes)).toEqual(m);
  });
});
