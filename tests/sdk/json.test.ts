import { describe, expect, test } from "bun:test";
import { type AISPMessage, DecodeError, deserialize, serialize, ValidationError } from "../../mod.ts";
import { minimal, seedMessage, thrown } from "./_fixtures.ts";

const bytesMessage = (): AISPMessage =>
  minimal({
    payload: { raw: new Uint8Array([0, 1, 254, 255]), list: [new Uint8Array(0), { deep: new Uint8Array([42]) }], text: "é😀" },
    sig: { alg: "ed25519", kid: "k1", value: new Uint8Array(64).fill(0xab) },
  });

describe("serialize / deserialize", () => {
  test("round trips the seed example and a message with every byte field", () => {
    for (const m of [seedMessage(), bytesMessage()]) expect(deserialize(serialize(m))).toEqual(m);
    const c = minimal({ compressed: { alg: "deflate-raw", size: 10, data: new Uint8Array([1, 2, 3, 4, 5]) } });
    expect(deserialize(serialize(c))).toEqual(c);
  });

  test("bytes are base64 in the text: plain for data/value, {$bin} inside payload", () => {
    const j = JSON.parse(serialize(bytesMessage()));
    expect(j.sig.value).toBe(Buffer.from(new Uint8Array(64).fill(0xab)).toString("base64"));
    expect(j.payload.raw).toEqual({ $bin: "AAH+/w==" });
    expect(j.payload.list[0]).toEqual({ $bin: "" });
    const c = JSON.parse(serialize(minimal({ compressed: { alg: "gzip", size: 1, data: new Uint8Array([0xff]) } })));
    expect(c.compressed.data).toBe("/w==");
  });

  test("the seed example's JSON is the plan's example plus v, opId and type", () => {
    const j = JSON.parse(serialize(seedMessage()));
    expect(j.spec.task).toBe("validate ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8");
    expect(j.timestamp).toBe(1706745600000);
  });

  test("serialize validates first", () => {
    expect(thrown(() => serialize({ ...minimal(), v: 3 } as never))).toBeInstanceOf(ValidationError);
  });

  test("text that is not JSON is a DecodeError", () => {
    for (const t of ["", "{", "nope", '{"v":1,}']) {
      const e = thrown(() => deserialize(t)) as DecodeError;
      expect(e).toBeInstanceOf(DecodeError);
      expect(e.code).toBe("BAD_BYTES");
    }
  });

  test("unknown versions and invalid messages", () => {
    expect((thrown(() => deserialize(JSON.stringify({ ...minimal(), v: 2 }))) as DecodeError).code).toBe("UNKNOWN_VERSION");
    const e = thrown(() => deserialize(JSON.stringify({ ...minimal(), id: 5, extra: true }))) as ValidationError;
    expect(e.issues.map((i) => i.path[0]).sort()).toEqual(["extra", "id"]);
  });

  test("invalid base64 is rejected with its path", () => {
    const sigText = JSON.stringify({ ...minimal(), sig: { alg: "ed25519", kid: "k", value: "not base64!" } });
    expect((thrown(() => deserialize(sigText)) as ValidationError).issues[0].path).toEqual(["sig", "value"]);
    const dataText = JSON.stringify({ ...minimal(), compressed: { alg: "gzip", size: 1, data: "A" } });
    expect((thrown(() => deserialize(dataText)) as ValidationError).issues[0].path).toEqual(["compressed", "data"]);
    const payloadText = JSON.stringify({ ...minimal(), payload: { a: [1, { $bin: "@@@@" }] } });
    const e = thrown(() => deserialize(payloadText)) as ValidationError;
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.issues[0].path).toEqual(["payload", "a", 1, "$bin"]);
    expect(e.message).toContain("payload.a[1].$bin");
  });

  test("unpadded base64 is accepted", () => {
    const text = JSON.stringify({ ...minimal(), payload: { $bin: "AAE" } });
    expect(deserialize(text).payload).toEqual(new Uint8Array([0, 1]));
  });

  test("a sig.value that is not a string is reported by the schema", () => {
    const text = JSON.stringify({ ...minimal(), sig: { alg: "ed25519", kid: "k", value: 5 } });
    expect((thrown(() => deserialize(text)) as ValidationError).issues.map((i) => i.path.join("."))).toEqual(["sig.value"]);
  });

  test("__proto__ keys in JSON text are refused and pollute nothing", () => {
    const texts = [
      `{"v":1,"id":"a","opId":"a","type":"t","sender":"s","receiver":"r","timestamp":1,"payload":{"__proto__":{"polluted":true}}}`,
      `{"v":1,"id":"a","opId":"a","type":"t","sender":"s","receiver":"r","timestamp":1,"payload":[{"ok":{"__proto__":{"polluted":true}}}]}`,
    ];
    for (const t of texts) {
      const e = thrown(() => deserialize(t)) as DecodeError;
      expect(e).toBeInstanceOf(DecodeError);
      expect(e.message).toContain("__proto__");
    }
    const top = `{"v":1,"id":"a","opId":"a","type":"t","sender":"s","receiver":"r","timestamp":1,"__proto__":{"polluted":true}}`;
    expect((thrown(() => deserialize(top)) as ValidationError).issues[0].path).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("an integer literal a number would round is refused with its offset; what serialize() writes reads back", () => {
    const base = JSON.stringify(minimal());
    for (const n of ["9007199254740993", "-9007199254740993", "123456789012345678901", "18446744073709551615"]) {
      const text = base.replace(/}$/, `,"payload":{"n":[1,${n}]}}`);
      const e = thrown(() => deserialize(text)) as DecodeError;
      expect(e).toBeInstanceOf(DecodeError);
      expect(e.code).toBe("BAD_BYTES");
      expect(e.offset).toBe(text.indexOf(n));
      expect(e.message).toContain(n);
    }
    const rounded = thrown(() => deserialize(base.replace(/"timestamp":1/, `"timestamp":9007199254740993`))) as DecodeError;
    expect(rounded.code).toBe("BAD_BYTES");
    // Digits inside strings are text, and exact or shortest-form literals are numbers as written.
    const payload = { s: "9007199254740993", a: 2 ** 53, b: 2 ** 60, c: 1.2345678901234568e20, d: -(2 ** 63), e: 1e21 };
    const m = minimal({ payload });
    expect(deserialize(serialize(m))).toEqual(m);
    expect(deserialize(base.replace(/}$/, `,"payload":1000000000000000000000}`)).payload).toBe(1e21);
  });
});
