/**
 * ampbus: the message backbone for teams of AI agents.
 *
 * Build, validate, grade, sign, encode and compress AISP task messages, on
 * Deno, Bun, Node and in browsers and edge workers.
 *
 * @example
 * ```ts
 * import { AISPMessageBuilder, encode, decode } from "ampbus";
 *
 * const msg = new AISPMessageBuilder()
 *   .setSender("coder-agent")
 *   .setReceiver("tester-agent")
 *   .setTask("validate ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8")
 *   .build();
 * const same = decode(encode(msg));
 * ```
 *
 * @module
 */
export * from "./sdk/envelope.ts";
export * from "./sdk/errors.ts";
export * from "./sdk/schema.ts";
export * from "./sdk/id.ts";
export * from "./sdk/grade.ts";
export * from "./sdk/builder.ts";
export {
  checkDecoded,
  decode,
  DEFAULT_DECODE_LIMITS,
  decodeValue,
  encode,
  encodeValid,
  encodeValue,
  makeDecoder,
} from "./sdk/codec.ts";
export type { DecodeLimits, DecodeOptions } from "./sdk/codec.ts";
export * from "./sdk/json.ts";
export * from "./sdk/compress.ts";
export * from "./sdk/sign.ts";
export * from "./sdk/serializer.ts";
export { compareCodePoints } from "./sdk/_writer.ts";
export { runtime, type RuntimeName } from "./sdk/_runtime.ts";
