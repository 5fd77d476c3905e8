/**
 * Helpers of `RedisBackend`: the node-redis client type, raw stream replies
 * turned into `StreamEntry` objects, and node-redis errors turned into
 * backend errors.
 *
 * @module
 */
import { commandOptions, createClient, ErrorReply } from "redis";
import {
  BackendArgumentError,
  BackendMisconfiguredError,
  BackendOutOfMemoryError,
  BackendTimeoutError,
  BackendUnavailableError,
} from "../../sdk/backend/types.ts";
import type { EntryHeaders, GroupEntry, NewEntry, StreamEntry } from "../../sdk/backend/types.ts";

/** The node-redis v4 client RedisBackend uses. */
export type RedisClient = ReturnType<typeof createClient>;

/**
 * What the backend's files send commands through: the node-redis client
 * itself, or `TimedCommands` over it (the command timeout).
 */
export interface CommandSender {
  sendCommand<T = RawReply>(args: (string | Buffer)[], options?: typeof RETURN_BUFFERS): Promise<T>;
}

/** Command options for stream reads: replies as Buffers, so `msg` bytes are exact. */
export const RETURN_BUFFERS = commandOptions({ returnBuffers: true });

/** A raw RESP reply as node-redis gives it. */
export type RawReply = string | number | Buffer | null | undefined | RawReply[];

/** The `msg` bytes as a Buffer view for a command argument (no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Turns one raw `[id, [field, value, ...]]` entry into a `StreamEntry`.
 * Fields are matched by name, so extra fields written by a newer writer are ignored.
 */
export function parseEntry(raw: RawReply): StreamEntry {
  const pair = raw as [Buffer, Buffer[]];
  const { headers, msg } = parseFields(pair[1]);
  return { entryId: pair[0].toString("latin1"), headers, msg };
}

/** `parseEntry` for a group delivery: the entry and its delivery count. */
export function parseGroupEntry(raw: RawReply, deliveries: number): GroupEntry {
  const pair = raw as [Buffer, Buffer[]];
  const { headers, msg } = parseFields(pair[1]);
  return { entryId: pair[0].toString("latin1"), headers, msg, deliveries };
}

/** The field names RedisBackend reads, by length, as bytes: a name is matched without turning it into a string. */
const FIELD_NAMES = ["id", "opId", "type", "sender", "receiver", "tier", "expiresAt", "msg"] as const;
type FieldName = (typeof FIELD_NAMES)[number];
const NAMES_BY_LENGTH: [Uint8Array, FieldName][][] = [];
for (const n of FIELD_NAMES) (NAMES_BY_LENGTH[n.length] ??= []).push([new TextEncoder().encode(n), n]);

function fieldName(b: Buffer): FieldName | undefined {
  const candidates = NAMES_BY_LENGTH[b.length];
  if (candidates === undefined) return undefined;
  next: for (const [bytes, name] of candidates) {
    for (let k = 0; k < bytes.length; k++) if (b[k] !== bytes[k]) continue next;
    return name;
  }
  return undefined;
}

function parseFields(fields: Buffer[]): NewEntry {
  const headers = { id: "", opId: "", type: "", sender: "", receiver: "" } as EntryHeaders;
  let msg: Uint8Array = new Uint8Array(0);
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fieldName(fields[i]!);
    if (name === undefined) continue; // a field of a newer writer
    const value = fields[i + 1]!;
    switch (name) {
      case "msg":
        // The Buffer itself (a Uint8Array): a new view of it would cost JSC a `.buffer` materialisation per entry.
        msg = value;
        break;
      case "expiresAt":
        headers.expiresAt = Number(value.toString("latin1"));
        break;
      default:
        headers[name] = value.toString("utf8");
    }
  }
  return { headers, msg };
}

/** Parses an XREAD reply (Buffers) into stream key -> entries. */
export function parseXRead(reply: RawReply): Map<string, StreamEntry[]> {
  const out = new Map<string, StreamEntry[]>();
  if (!Array.isArray(reply)) return out;
  for (const s of reply as [Buffer, RawReply[]][]) {
    out.set(s[0].toString("utf8"), s[1].map(parseEntry));
  }
  return out;
}

/** Builds the XADD field list in the documented order: id, opId, type, sender, receiver, tier?, expiresAt?, msg. */
export function entryFields(headers: EntryHeaders, msg: Uint8Array): (string | Buffer)[] {
  const f: (string | Buffer)[] = [
    "id", headers.id,
    "opId", headers.opId,
    "type", headers.type,
    "sender", headers.sender,
    "receiver", headers.receiver,
  ];
  if (headers.tier !== undefined) f.push("tier", headers.tier);
  if (headers.expiresAt !== undefined) f.push("expiresAt", String(headers.expiresAt));
  f.push("msg", asBuffer(msg));
  return f;
}

/**
 * Maps a node-redis failure to a backend error: a server error reply about
 * the arguments becomes `BackendArgumentError`; an OOM reply (Redis at
 * `maxmemory`, nothing written) `BackendOutOfMemoryError`; anything else
 * (connection lost, client offline, server loading) `BackendUnavailableError`.
 * Timeouts and refusals of the backend itself pass through.
 */
export function toBackendError(e: unknown, what: string): Error {
  if (
    e instanceof BackendArgumentError || e instanceof BackendUnavailableError || e instanceof BackendTimeoutError ||
    e instanceof BackendMisconfiguredError || e instanceof BackendOutOfMemoryError
  ) {
    return e;
  }
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof ErrorReply && /^(WRONGTYPE|ERR Invalid stream ID|ERR The ID specified)/.test(message)) {
    return new BackendArgumentError(`${what}: ${message}`, { cause: e });
  }
  // Redis 7 answers "OOM command not allowed ..."; a script's write refused for memory says the same inside its error.
  if (e instanceof ErrorReply && /\bOOM command not allowed\b/.test(message)) {
    return new BackendOutOfMemoryError(
      `${what}: Redis is out of memory (maxmemory reached, policy noeviction): nothing was stored (${message})`,
      { cause: e },
    );
  }
  return new BackendUnavailableError(`${what}: Redis is unavailable (${message})`, { cause: e });
}

/** True for the server's "script not cached" reply. */
export function isNoScript(e: unknown): boolean {
  return e instanceof ErrorReply && e.message.startsWith("NOSCRIPT");
}

/** True for the server's "no such key or consumer group" reply. */
export function isNoGroup(e: unknown): boolean {
  return e instanceof ErrorReply && e.message.startsWith("NOGROUP");
}
