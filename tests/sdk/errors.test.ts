import { describe, expect, test } from "bun:test";
import {
  AmpbusError,
  CompressionError,
  DecodeError,
  EncodeError,
  formatPath,
  SignatureError,
  ValidationError,
} from "../../mod.ts";

describe("errors", () => {
  test("formatPath renders dotted paths with array indices", () => {
    expect(formatPath(["spec", "preconditions", 2])).toBe("spec.preconditions[2]");
    expect(formatPath(["payload", 0, "a"])).toBe("payload[0].a");
    expect(formatPath([])).toBe("(message)");
  });

  test("every class has its name, code, cause, and is an AmpbusError", () => {
    const cause = new Error("root");
    const cases: [AmpbusError, string, string][] = [
      [new ValidationError([{ path: ["id"], message: "id bad" }], { cause }), "ValidationError", "INVALID_MESSAGE"],
      [new DecodeError("UNKNOWN_VERSION", "v2", { cause }), "DecodeError", "UNKNOWN_VERSION"],
      [new EncodeError("fn", { cause }), "EncodeError", "UNENCODABLE"],
      [new CompressionError("DECOMPRESSION_LIMIT", "big", { cause }), "CompressionError", "DECOMPRESSION_LIMIT"],
      [new SignatureError("BAD_SIGNATURE", "bad", { cause }), "SignatureError", "BAD_SIGNATURE"],
    ];
    for (const [e, name, code] of cases) {
      expect(e).toBeInstanceOf(AmpbusError);
      expect(e).toBeInstanceOf(Error);
      expect(e.name).toBe(name);
      expect(e.code).toBe(code);
      expect(e.cause).toBe(cause);
    }
  });

  test("ValidationError lists every issue in its message", () => {
    const e = new ValidationError([
      { path: ["id"], message: "id must be non-empty" },
      { path: ["sender"], message: "sender must be a string" },
    ]);
    expect(e.message).toBe("invalid message (2 problems): id must be non-empty; sender must be a string");
    expect(new ValidationError([{ path: [], message: "x" }]).message).toContain("1 problem)");
  });
});
