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
export * from "./sdk/bus_errors.ts";
export type { BusInfo, BusPort, RawBatch, RawEntry } from "./sdk/bus_port.ts";
export * from "./sdk/client.ts";
export * from "./sdk/connect.ts";
export * from "./sdk/local_bus.ts";
export { DEFAULT_MAX_FRAME, frame, FrameDecoder, FrameError } from "./sdk/frame.ts";
export { SocketPort, type SocketPortOptions, type HelloReply } from "./sdk/socket_port.ts";
export type { Transport, TransportFactory, TransportOptions } from "./sdk/transport.ts";
export { connectWebSocket, webSocketTransport } from "./sdk/transport_ws.ts";
export { MemoryBackend, type MemoryBackendOptions } from "./sdk/backend/memory.ts";
export {
  type AddOptions,
  type AddResult as BackendAddResult,
  BackendArgumentError,
  type BackendInfo,
  type BackendState,
  BackendUnavailableError,
  DEFAULT_DEDUPE_WINDOW_MS,
  type EntryHeaders,
  type EntryId,
  type NewEntry,
  type ReadCursor,
  type ReadFrom,
  type ReadOptions,
  type StreamBackend,
  type StreamBatch,
  type StreamEntry,
  type StreamInfo,
  type TrimOptions,
} from "./sdk/backend/types.ts";
export * from "./sdk/group.ts";
export * from "./sdk/request.ts";
export {
  DEFAULT_CLAIM_TIMEOUT_MS,
  DEFAULT_MAX_DELIVERIES,
  deadLetterStreamOf,
  type DeliveryPolicy,
  GroupReader,
} from "./sdk/backend/group_reader.ts";
export type { PendingEntry, RawGroupEntry } from "./sdk/bus_port.ts";
export { ReconnectingPort, type ReconnectOptions } from "./sdk/reconnect.ts";
export * from "./sdk/agent_inbox.ts";
