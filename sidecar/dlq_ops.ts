/**
 * The dead-letter op of the sidecar protocol: `dlq.replay`, which puts the
 * original messages of dead letters (in `<stream>.dlq`, written by
 * `GroupReader` when an entry passes `maxDeliveries`) back on their stream.
 * ampd does it, not the client, because it adds messages on behalf of their
 * original senders: with a keyring no connection may do that, but the
 * signature and tier checks of `add` still hold. docs/protocol.md
 * (`dlq.replay`) documents it.
 *
 * @module
 */
import { compareEntryIds, isEntryId, parseEntryId } from "../sdk/backend/args.ts";
import { deadLetterStreamOf } from "../sdk/backend/group_reader.ts";
import { storedHeaders } from "../sdk/backend/headers.ts";
import { checkEntrySize } from "../sdk/backend/live_read.ts";
import type { EntryHeaders, StreamEntry } from "../sdk/backend/types.ts";
import type { AISPMessage } from "../sdk/envelope/envelope.ts";
import { AmpbusError } from "../sdk/errors.ts";
import { boolArg, type ErrorCode, isStreamName, type OpContext, optIntArg, ProtocolError, type Request, streamArg } from "./protocol.ts";
import { admitAdd } from "./trust.ts";

// The validating codec (and the schema under it) loads with the first replay, not at start-up.
type Codec = typeof import("../sdk/codec/codec.ts");
let codec: Codec | undefined;
const loadCodec = async (): Promise<Codec> => codec ??= await import("../sdk/codec/codec.ts");

/** Most dead letters one `dlq.replay` names (`ids`) or replays (`count`). */
export const MAX_REPLAY = 10_000;
/** Dead letters replayed by `all` without a `count`. */
export const DEFAULT_REPLAY_COUNT = 100;
/** Longest opId (the envelope's limit): a replay's opId is cut to it. */
const MAX_OP_ID = 128;
/** Entries of the dead-letter stream read per backend call. */
const PAGE = 500;
/** The sender of the dead letters ampd writes. */
const AMPD_SENDER = "ampd";

/** One dead letter, checked and ready to be added back. */
interface Replay {
  dlqEntryId: string;
  /** The stream it came from (= the op's `stream`). */
  stream: string;
  headers: EntryHeaders;
  msg: AISPMessage;
  bytes: Uint8Array;
}

/** The original message of a dead letter, as its payload carries it (GroupReader's `#deadLetter`). */
interface Letter {
  dlqEntryId: string;
  stream: string;
  bytes: Uint8Array;
}

/**
 * Reads entry `e` of the dead-letter stream as a dead letter of `stream`, or
 * says why it is not one. With a keyring, only the dead letters ampd wrote
 * (sender `ampd`; an agent's own adds carry its own name) count: an admin
 * could otherwise add a made-up "dead letter" and have ampd replay it as
 * another agent's unsigned message.
 */
function letterOf(s: OpContext, e: StreamEntry, stream: string): Letter | string {
  let m: AISPMessage;
  try {
    m = codec!.decode(e.msg, { maxBytes: s.state.config.maxFrame });
  } catch (err) {
    return `it is not a valid message (${(err as Error).message})`;
  }
  const p = m.payload as Record<string, unknown> | undefined;
  if (m.type !== "dead-letter") return `it is a message of type ${JSON.stringify(m.type)}, not dead-letter`;
  if (typeof p !== "object" || p === null || !(p.message instanceof Uint8Array)) return "its payload has no message (bytes)";
  if (p.stream !== stream) return `it is a dead letter of stream ${JSON.stringify(p.stream)}, not ${stream}`;
  if (s.state.trust.keyring !== undefined && m.sender !== AMPD_SENDER) {
    return `it was not written by ampd (its sender is ${JSON.stringify(m.sender)}); with a keyring only ampd's dead letters are replayed`;
  }
  return { dlqEntryId: e.entryId, stream, bytes: p.message };
}

/** The entry id to read after so that the next read starts at or before `id`. */
function before(id: string): string {
  const { ms, seq } = parseEntryId(id);
  if (seq > 0) return `${ms}-${seq - 1}`;
  return ms > 0 ? `${ms - 1}-0` : "0";
}

/**
 * The entries of `dlq` to replay, in stream order: those named in `ids`
 * (all of them, or `BAD_ARGUMENT` naming the missing ones), or the first
 * `count` dead letters of `stream`.
 */
async function select(s: OpContext, o: { stream: string; dlq: string; ids?: string[]; count: number }): Promise<Letter[]> {
  const { stream, dlq, ids, count } = o;
  const wanted = ids === undefined ? undefined : new Set(ids);
  const sorted = ids === undefined ? undefined : [...wanted!].sort(compareEntryIds);
  const last = sorted?.[sorted.length - 1];
  let after = sorted === undefined ? "0" : before(sorted[0]);
  const out: Letter[] = [];
  const refused: string[] = [];
  const found = new Set<string>();
  scan: for (;;) {
    const [batch] = await s.backend.read([{ stream: dlq, after }], { count: PAGE });
    const entries = batch?.entries ?? [];
    for (const e of entries) {
      if (last !== undefined && compareEntryIds(e.entryId, last) > 0) break scan;
      if (wanted !== undefined && !wanted.has(e.entryId)) continue;
      const l = letterOf(s, e, stream);
      if (typeof l === "string") {
        // A named entry that is no dead letter is an error; --all passes over it, as the listing does.
        if (wanted !== undefined) refused.push(`${e.entryId}: ${l}`);
        found.add(e.entryId);
        continue;
      }
      found.add(e.entryId);
      out.push(l);
      if (wanted === undefined && out.length >= count) break scan;
      if (wanted !== undefined && found.size === wanted.size) break scan;
    }
    if (entries.length < PAGE) break;
    after = entries[entries.length - 1].entryId;
  }
  if (wanted !== undefined) {
    const missing = sorted!.filter((id) => !found.has(id));
    if (missing.length > 0 || refused.length > 0) {
      const parts: string[] = [];
      if (missing.length > 0) parts.push(`no dead letter ${missing.join(", ")} in ${dlq}`);
      if (refused.length > 0) parts.push(`not replayable from ${dlq}: ${refused.join("; ")}`);
      throw new ProtocolError("BAD_ARGUMENT", `${parts.join("; ")}; nothing was replayed`, { details: { field: "ids", missing, refused } });
    }
  }
  return out;
}

/** `e`, a refusal of dead letter `l`, with the letter named in its message and details. */
function refusal(l: Letter, e: unknown): unknown {
  if (!(e instanceof AmpbusError)) return e;
  const x = e as AmpbusError & { details?: Record<string, unknown>; issues?: unknown };
  const details: Record<string, unknown> = { ...x.details, dlqEntryId: l.dlqEntryId, stream: l.stream };
  if (x.issues !== undefined) details.issues = x.issues;
  return new ProtocolError(e.code as ErrorCode, `dead letter ${l.dlqEntryId} of ${l.stream}: ${e.message}; nothing was replayed`, { details, cause: e });
}

/**
 * Checks one dead letter's message as `add` would, but on behalf of its
 * original sender: no permission or sender check (the session's grant is
 * left out), the signature, tier and stream requirements all the same.
 * A signed message keeps its bytes (a new opId would break the signature);
 * an unsigned one gets the opId `replay:<dlqEntryId>:<opId>`, cut to 128
 * characters, so replaying one dead letter twice stores it once.
 */
async function prepare(s: OpContext, l: Letter): Promise<Replay> {
  const maxFrame = s.state.config.maxFrame;
  let original: AISPMessage;
  try {
    original = codec!.decode(l.bytes, { maxBytes: maxFrame });
  } catch (e) {
    if (e instanceof AmpbusError && e.code === "BAD_BYTES") {
      throw new ProtocolError("BAD_ARGUMENT", `dead letter ${l.dlqEntryId}: its message is not an encoded message: ${e.message}`, { details: { field: "ids", dlqEntryId: l.dlqEntryId } });
    }
    throw e;
  }
  const msg = original.sig !== undefined ? original : { ...original, opId: `replay:${l.dlqEntryId}:${original.opId}`.slice(0, MAX_OP_ID) };
  const bytes = original.sig !== undefined ? l.bytes.slice() : codec!.encode(msg);
  checkEntrySize(bytes.length, maxFrame);
  const headers = storedHeaders(msg); // EXPIRED: a message past its expiresAt is not put back
  await admitAdd(asAmpd(s), { stream: l.stream, msg });
  return { dlqEntryId: l.dlqEntryId, stream: l.stream, headers, msg, bytes };
}

/** The session as ampd itself: no agent's grant, so `admitAdd` checks the message and not who sends it. */
function asAmpd(s: OpContext): OpContext {
  return Object.create(s, { grant: { value: undefined } }) as OpContext;
}

function idsArg(req: Request): string[] | undefined {
  const v = req.ids;
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_REPLAY) {
    throw new ProtocolError("BAD_ARGUMENT", `ids must be an array of 1 to ${MAX_REPLAY} entry ids of the dead-letter stream`, { details: { field: "ids" } });
  }
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== "string" || !isEntryId(v[i])) {
      throw new ProtocolError("BAD_ARGUMENT", `ids[${i}] must be an entry id like "1706745600000-0" (was ${JSON.stringify(v[i]) ?? typeof v[i]})`, { details: { field: "ids" } });
    }
  }
  return v as string[];
}

/**
 * `dlq.replay`: adds the original message of dead letters of `stream` (the
 * entries `ids` of `<stream>.dlq`, or with `all` the first `count`) to
 * `stream` again. Every one is checked before any is added, so a refusal
 * replays nothing. Admin only with a keyring (`authorizeOp`).
 */
async function dlqReplay(s: OpContext, req: Request) {
  await loadCodec();
  const stream = streamArg(req);
  const ids = idsArg(req);
  const all = boolArg(req, { field: "all", fallback: false });
  const countArg = optIntArg(req, { field: "count", min: 1, max: MAX_REPLAY });
  if ((ids === undefined) === !all) {
    throw new ProtocolError("BAD_ARGUMENT", "dlq.replay needs either ids (dead-letter entry ids) or all: true", { details: { field: ids === undefined ? "ids" : "all" } });
  }
  if (ids !== undefined && countArg !== undefined) {
    throw new ProtocolError("BAD_ARGUMENT", "count goes with all: true (every one of ids is replayed)", { details: { field: "count" } });
  }
  const dlq = deadLetterStreamOf(stream);
  if (!isStreamName(dlq)) {
    throw new ProtocolError("BAD_ARGUMENT", `stream ${stream.slice(0, 60)}... is too long to have a dead-letter stream (${dlq.length} characters; a stream name is at most 256)`, { details: { field: "stream" } });
  }
  const letters = await select(s, { stream, dlq, ids, count: countArg ?? DEFAULT_REPLAY_COUNT });
  const replays: Replay[] = [];
  for (const l of letters) {
    try {
      replays.push(await prepare(s, l));
    } catch (e) {
      throw refusal(l, e);
    }
  }
  const counters = s.state.counters;
  const replayed: { dlqEntryId: string; stream: string; entryId: string; duplicate: boolean }[] = [];
  for (const r of replays) {
    const a = await s.backend.add(r.stream, { headers: r.headers, msg: r.bytes });
    if (a.duplicate) counters.duplicates++;
    else {
      counters.added++;
      s.state.onAdded?.({ stream: r.stream, entryId: a.entryId, msg: r.msg, bytes: r.bytes });
    }
    replayed.push({ dlqEntryId: r.dlqEntryId, stream: r.stream, entryId: a.entryId, duplicate: a.duplicate });
  }
  return { replayed };
}

/** The dead-letter ops, by name (spread into `OPS`). */
export const DLQ_OPS: Record<string, (s: OpContext, req: Request) => unknown> = {
  "dlq.replay": dlqReplay,
};
