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
export * from "./sdk/envelope/envelope.ts";
export * from "./sdk/errors.ts";
export * from "./sdk/envelope/schema.ts";
export * from "./sdk/envelope/id.ts";
export * from "./sdk/envelope/grade.ts";
export * from "./sdk/envelope/builder.ts";
export {
  checkDecoded,
  decode,
  DEFAULT_DECODE_LIMITS,
  decodeValue,
  encode,
  encodeValid,
  encodeValue,
  makeDecoder,
} from "./sdk/codec/codec.ts";
export type { DecodeLimits, DecodeOptions } from "./sdk/codec/codec.ts";
export * from "./sdk/codec/json.ts";
export * from "./sdk/codec/compress.ts";
export * from "./sdk/codec/sign.ts";
export * from "./sdk/codec/serializer.ts";
export { compareCodePoints } from "./sdk/codec/msgpack_writer.ts";
export { runtime, type RuntimeName } from "./sdk/runtime.ts";
export * from "./sdk/client/bus_errors.ts";
export type { BusInfo, BusPort, RawBatch, RawEntry } from "./sdk/client/bus_port.ts";
export * from "./sdk/client/client.ts";
export * from "./sdk/client/connect.ts";
export * from "./sdk/client/local_bus.ts";
export { DEFAULT_MAX_FRAME, frame, FrameDecoder, FrameError } from "./sdk/transport/frame.ts";
export { SocketPort, type SocketPortOptions, type HelloReply } from "./sdk/client/socket_port.ts";
export type { Transport, TransportFactory, TransportOptions } from "./sdk/transport/transport.ts";
export { connectWebSocket, webSocketTransport } from "./sdk/transport/websocket.ts";
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
export * from "./sdk/client/group.ts";
export * from "./sdk/client/request.ts";
export {
  DEFAULT_CLAIM_TIMEOUT_MS,
  DEFAULT_MAX_DELIVERIES,
  deadLetterStreamOf,
  type DeliveryPolicy,
  GroupReader,
} from "./sdk/backend/group_reader.ts";
export type { PendingEntry, RawGroupEntry } from "./sdk/client/bus_port.ts";
export { ReconnectingPort, type ReconnectOptions } from "./sdk/client/reconnect.ts";
export * from "./sdk/client/listen.ts";
