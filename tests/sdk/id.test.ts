import { describe, expect, test } from "bun:test";
import { uuidv7, uuidv7Time } from "../../mod.ts";

const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("uuidv7", () => {
  test("format, version 7 and RFC 9562 variant bits", () => {
    for (let i = 0; i < 200; i++) {
      const id = uuidv7();
      expect(id).toMatch(FORMAT);
      const hex = id.replaceAll("-", "");
      expect(parseInt(hex[12], 16)).toBe(7);
      expect(parseInt(hex[16], 16) >> 2).toBe(0b10);
    }
  });

  test("10 000 ids generated in a tight loop are unique and strictly increasing", () => {
    const ids: string[] = [];
    for (let i = 0; i < 10_000; i++) ids.push(uuidv7());
    for (let i = 1; i < ids.length; i++) {
      if (!(ids[i - 1] < ids[i])) throw new Error(`not increasing at ${i}: ${ids[i - 1]} >= ${ids[i]}`);
    }
    expect(new Set(ids).size).toBe(10_000);
  });

  test("10 000 ids for one fixed millisecond still increase (counter overflow moves the clock on)", () => {
    const now = Date.now() + 2;
    const ids = Array.from({ length: 10_000 }, () => uuidv7(now));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(10_000);
    expect(uuidv7Time(ids[0])).toBe(now);
  });

  test("the time decodes back, and a clock going backwards keeps order", () => {
    const t = Date.now() + 5;
    const a = uuidv7(t);
    expect(uuidv7Time(a)).toBe(t);
    const b = uuidv7(t - 1000);
    expect(b > a).toBe(true);
    expect(uuidv7Time(b)).toBe(t);
    const c = uuidv7();
    expect(c > b).toBe(true);
  });

  test("uuidv7Time refuses ids that are not UUIDv7", () => {
    expect(uuidv7Time("msg-001")).toBeUndefined();
    expect(uuidv7Time("0192f7e5-3c1a-4b2e-9d4f-1a2b3c4d5e6f")).toBeUndefined(); // v4
    expect(uuidv7Time("0192f7e5-3c1a-7b2e-cd4f-1a2b3c4d5e6f")).toBeUndefined(); // bad variant
    expect(uuidv7Time("0192F7E5-3C1A-7B2E-9D4F-1A2B3C4D5E6F")).toBeUndefined(); // we emit lowercase only
    expect(uuidv7Time("0192f7e5-3c1a-7b2e-9d4f-1a2b3c4d5e6f")).toBe(0x0192f7e53c1a);
  });
});
