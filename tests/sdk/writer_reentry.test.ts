/**
 * `encode()` and `encodeValue()` write into one shared writer. A payload
 * getter that encodes while the writer is in use (logging its message, say)
 * must get a writer of its own: both encodings come out exactly as a plain
 * encode of the same values would, rather than the inner one resetting the
 * outer one's buffer.
 */
import { describe, expect, test } from "bun:test";
import { type AISPMessage, decode, decodeValue, encode, encodeValue } from "../../mod.ts";
import { encodeValid } from "../../sdk/codec/codec.ts";
import { minimal } from "./_fixtures.ts";

const inner = minimal({ id: "m-inner", opId: "m-inner", payload: { text: "inner", list: [1, 2, 3] } });

/** A payload whose `logged` getter encodes `encodeInner()` each time it is read; the results land in `out`. */
function reentrantPayload(encodeInner: () => Uint8Array, out: Uint8Array[]): Record<string, unknown> {
  const payload: Record<string, unknown> = { a: "before", z: "after" };
  Object.defineProperty(payload, "logged", {
    enumerable: true,
    get() {
      out.push(encodeInner());
      return 42;
    },
  });
  return payload;
}

const plainPayload = { a: "before", logged: 42, z: "after" };

describe("the shared writer re-entered from a payload getter", () => {
  test("encode() inside encode(): both results equal a plain encode and decode to their values", () => {
    const innerBytes: Uint8Array[] = [];
    const outer: AISPMessage = minimal({ payload: reentrantPayload(() => encode(inner), innerBytes) });
    const outerBytes = encode(outer);

    expect(outerBytes).toEqual(encode(minimal({ payload: plainPayload })));
    expect(decode(outerBytes).payload).toEqual(plainPayload);
    expect(innerBytes.length).toBeGreaterThan(0);
    const plainInner = encode(inner);
    for (const b of innerBytes) {
      expect(b).toEqual(plainInner);
      expect(decode(b)).toEqual(decode(plainInner));
    }
  });

  test("encodeValue() inside encodeValue() and encodeValid() inside encodeValue()", () => {
    const got: Uint8Array[] = [];
    const outer = { head: "h", body: reentrantPayload(() => encodeValue({ k: ["v", 1] }), got) };
    const bytes = encodeValue(outer);
    expect(bytes).toEqual(encodeValue({ head: "h", body: plainPayload }));
    expect(decodeValue(bytes)).toEqual({ head: "h", body: plainPayload });
    for (const b of got) expect(b).toEqual(encodeValue({ k: ["v", 1] }));

    const messages: Uint8Array[] = [];
    const mixed = encodeValue({ body: reentrantPayload(() => encodeValid(inner), messages) });
    expect(mixed).toEqual(encodeValue({ body: plainPayload }));
    for (const b of messages) expect(b).toEqual(encode(inner));
  });

  test("a getter that throws while nested leaves the shared writer usable", () => {
    const payload: Record<string, unknown> = {};
    Object.defineProperty(payload, "bad", {
      enumerable: true,
      get() {
        encode(inner);
        throw new Error("getter failed");
      },
    });
    expect(() => encodeValue({ payload })).toThrow("getter failed");
    // The next encodes use the shared writer again and are still right.
    expect(encode(inner)).toEqual(encodeValid(inner));
    expect(decodeValue(encodeValue({ x: 1 }))).toEqual({ x: 1 });
  });
});
