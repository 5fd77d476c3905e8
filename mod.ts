/**
 * ampbus: the message backbone for teams of AI agents.
 *
 * Build, validate, grade, sign, encode and compress AISP task messages, and
 * send them over the bus: `connect()` talks to the ampd sidecar (Redis
 * Streams behind it), `createLocalBus()` runs the same client API in
 * process. The same module runs on Deno, Bun, Node and in browsers and edge
 * workers. It is published as `@ampbus/ampbus` on JSR and `ampbus` on npm.
 *
 * @example
 * ```ts
 * import { AISPMessageBuilder, decode, encode } from "@ampbus/ampbus";
 *
 * const msg = new AISPMessageBuilder()
 *   .setSender("coder-agent")
 *   .setReceiver("tester-agent")
 *   .setTask("validate ≜ λf.runTests(f) ∧ coverage(f) ≥ 0.8")
 *   .build();
 * const same = decode(encode(msg)); // canonical MessagePack, validated both ways
 * if (same.id !== msg.id || same.tier !== msg.tier) throw new Error("round trip changed the message");
 * ```
 *
 * @module
 */
// The public API, by name and in data-flow order: the message as a value, as
// bytes, on a pipe, in a backend, and what an agent calls. Nothing private is
// listed here; `npm run check` (scripts/check_imports.ts) refuses `export *`.

// Errors
export {
  AmpbusError,
  BackendArgumentError,
  BackendMisconfiguredError,
  BackendOutOfMemoryError,
  BackendStorageError,
  BackendTimeoutError,
  BackendUnavailableError,
  BusError,
  CompressionError,
  ConnectionClosedError,
  DecodeError,
  type DecodeErrorOptions,
  EncodeError,
  EntryTooLargeError,
  formatPath,
  type Issue,
  MessageExpiredError,
  SignatureError,
  TimeoutError,
  ValidationError,
} from "./sdk/errors.ts";

// The AISP language: symbol table, tokenizer and parser, grader
export {
  AISP_SYMBOL_TABLE,
  type AISPSymbol,
  SYMBOL_CATEGORIES,
  type SymbolCategory,
  symbolInfo,
} from "./sdk/aisp/symbols.ts";
export {
  type AISPDocument,
  type AISPNode,
  type AISPParseError,
  type NodeSpan,
  type ParseResult,
  type Position,
  type Token,
  type TokenKind,
} from "./sdk/aisp/types.ts";
export { AISPParser, MAX_NESTING } from "./sdk/aisp/parser.ts";
export { AISPGrader, type GradableSpec, type GradeTier } from "./sdk/aisp/grader.ts";
export { specSyntaxIssues } from "./sdk/aisp/spec_syntax.ts";

// The message as a value: envelope, schema, builder, grade, ids
export {
  type AISPMessage,
  BROADCAST,
  type CompressedPayload,
  type CompressionAlgorithm,
  COMPRESSION_ALGORITHMS,
  ENVELOPE_FIELDS,
  ENVELOPE_VERSION,
  type ProofBlock,
  type ProofMethod,
  PROOF_METHODS,
  type QualityTier,
  type Signature,
  type SignatureAlgorithm,
  SIGNATURE_ALGORITHMS,
  type TaskSpec,
  TIERS,
} from "./sdk/envelope/envelope.ts";
export {
  assertValid,
  validate,
  type ValidationPolicy,
  type ValidationResult,
} from "./sdk/envelope/schema.ts";
export { uuidv7, uuidv7Time } from "./sdk/envelope/id.ts";
export {
  AISP_SYMBOLS,
  BINDING_SYMBOLS,
  grade,
  type Grade,
  type GradeBreakdown,
  GRADE_WEIGHTS,
  MAX_GRADED,
  METHOD_WEIGHTS,
  REQUIRED_BLOCKS,
  SYMBOL_DENSITY_SATURATION,
  TIER_SYMBOLS,
  TIER_THRESHOLDS,
  tierOf,
} from "./sdk/envelope/grade.ts";
export { AISPMessageBuilder, createMessage, type MessageFields } from "./sdk/envelope/builder.ts";

// The message as bytes: canonical MessagePack, JSON, compression, signatures
export {
  checkDecoded,
  decode,
  DEFAULT_DECODE_LIMITS,
  type DecodeLimits,
  type DecodeOptions,
  decodeValue,
  encode,
  encodeValid,
  encodeValue,
  makeDecoder,
} from "./sdk/codec/codec.ts";
export type { MsgpackReader, ReaderLimits } from "./sdk/codec/msgpack_reader.ts";
export { deserialize, jsonForm, serialize } from "./sdk/codec/json.ts";
export {
  compress,
  compressBytes,
  type CompressionEngine,
  compressionEngine,
  type CompressOptions,
  decompress,
  decompressBytes,
  unpackInflated,
  type DecompressOptions,
  DEFAULT_COMPRESS_THRESHOLD,
  DEFAULT_MAX_DECOMPRESSED,
  setCompressionEngine,
  type SpecAndPayload,
} from "./sdk/codec/compress.ts";
export { compressMessage, decompressMessage } from "./sdk/codec/compress_message.ts";
export {
  assertSigned,
  exportKey,
  fromBase64,
  generateHmacKey,
  generateKeyPair,
  importKey,
  type ImportKeyOptions,
  type KeyRing,
  sign,
  signedBytes,
  type SigningKey,
  toBase64,
  verify,
  type VerifyingKey,
} from "./sdk/codec/sign.ts";
export { AISPMessageSerializer } from "./sdk/codec/serializer.ts";
export { runtime, type RuntimeName } from "./sdk/runtime.ts";

// Bytes on a pipe: framing and transports
export { DEFAULT_MAX_FRAME, frame, FrameDecoder, FrameError } from "./sdk/transport/frame.ts";
export type { Transport, TransportFactory, TransportOptions } from "./sdk/transport/transport.ts";
export { connectWebSocket, webSocketTransport } from "./sdk/transport/websocket.ts";

// The server half of the bus (ampd and createLocalBus run it)
export { MemoryBackend, type MemoryBackendOptions } from "./sdk/backend/memory.ts";
export {
  type AddOptions,
  type AddResult as BackendAddResult,
  type BackendInfo,
  type BackendKind,
  type BackendState,
  type ClaimOptions,
  type ConsumerInfo,
  type ConsumerRef,
  type CreateGroupOptions,
  type CreateGroupResult,
  DEFAULT_DEDUPE_WINDOW_MS,
  DEFAULT_RETENTION,
  type EntryHeaders,
  type EntryId,
  type GroupEntry,
  type GroupInfo,
  type GroupRef,
  type GroupStart,
  type NackOptions,
  type NewEntry,
  type PendingInfo,
  type PendingOptions,
  type ReadCursor,
  type ReadFrom,
  type ReadGroupOptions,
  type ReadOptions,
  type RemovedCounts,
  type Retention,
  type RetentionPolicy,
  type StreamBackend,
  type StreamBatch,
  type StreamEntry,
  type StreamInfo,
  type TrimOptions,
} from "./sdk/backend/types.ts";
export { RetentionSweeper, type RetentionSweeperOptions } from "./sdk/backend/retention.ts";
export {
  DEFAULT_CLAIM_TIMEOUT_MS,
  DEFAULT_MAX_DELIVERIES,
  deadLetterStreamOf,
  type DeliveryCounters,
  type DeliveryPolicy,
  GroupReader,
  type GroupReadRequest,
} from "./sdk/backend/group_reader.ts";

// What an agent calls
export type { BusInfo, BusPort, PendingEntry, PushHandler, RawBatch, RawEntry, RawGroupEntry } from "./sdk/client/bus_port.ts";
export { AmpClient } from "./sdk/client/client.ts";
export {
  type AddResult,
  type ClientCore,
  type Delivery,
  type DeliveryIterator,
  inboxOf,
  type InvalidEntryHandler,
  type StartFrom,
  type StreamIterOptions,
  type StreamReadOptions,
} from "./sdk/client/types.ts";
export { connect, type ConnectOptions } from "./sdk/client/connect.ts";
export { createLocalBus, type LocalBusOptions } from "./sdk/client/local_bus.ts";
export { type ConsumerOptions, Group, GroupConsumer, type GroupDelivery } from "./sdk/client/group.ts";
export { REPLY_LINGER_MS, type ReplyFields, replyMessage, replyStreamOf } from "./sdk/client/request.ts";
export { AgentInbox, type ListenOptions } from "./sdk/client/listen.ts";
export {
  type HelloReply,
  SocketPort,
  type SocketPortOptions,
  type SocketRequestOptions,
} from "./sdk/client/socket_port.ts";
export { ReconnectingPort, type ReconnectOptions } from "./sdk/client/reconnect.ts";
export { StreamPattern } from "./sdk/trust/subject.ts";
export {
  Keyring,
  type KeyringAgent,
  KeyringError,
  type KeyringIssue,
  type KeyringKey,
  type RuleDecision,
  type StreamPolicyRule,
  type StreamRequirements,
  StreamRules,
} from "./sdk/trust/keyring.ts";
export { type Access, type Admission, AgentGrant, type MessageFacts, signatureMismatch, type TrustOptions, TrustPolicy } from "./sdk/trust/policy.ts";
export { type AgentKey, AUTH_CONTEXT, AUTH_NONCE_BYTES, authBytes, newAgentKey, parseKeyFile, proveAuth } from "./sdk/trust/auth.ts";
export { TrustGate, verifyWithKey } from "./sdk/trust/gate.ts";
