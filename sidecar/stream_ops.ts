/**
 * Stream administration ops of the sidecar protocol: `trim` (by length and
 * age, under a retention policy), `stream.info`, `stream.purge`,
 * `stream.delete` and `stream.retention`. Each removal is counted per stream
 * (`StreamInfo.removed`). docs/protocol.md documents each.
 *
 * @module
 */
import type { Retention, RetentionPolicy } from "../sdk/backend/types.ts";
import { boolArg, type OpContext, optIntArg, ProtocolError, type Request, streamArg } from "./protocol.ts";

/** Longest age limit an op takes: 100 years, in ms. */
const MAX_AGE_MS = 100 * 365 * 24 * 3_600_000;
/** Most streams a backend lists: past it, a stream not in the list may still exist. */
const LIST_LIMIT = 10_000;

function policyArg(req: Request): RetentionPolicy | undefined {
  const v = req.policy;
  if (v === undefined) return undefined;
  if (v !== "interest" && v !== "limits") {
    throw new ProtocolError("BAD_ARGUMENT", `policy must be "interest" or "limits" (was ${JSON.stringify(v)})`, { details: { field: "policy" } });
  }
  return v;
}

/** Throws NOT_FOUND naming the stream when the backend does not hold it. */
async function needStream(s: OpContext, stream: string): Promise<void> {
  const names = await s.backend.streams({ limit: LIST_LIMIT });
  if (names.length < LIST_LIMIT && !names.includes(stream)) {
    throw new ProtocolError("NOT_FOUND", `no stream ${JSON.stringify(stream)}`, { details: { field: "stream" } });
  }
}

async function trim(s: OpContext, req: Request) {
  const stream = streamArg(req);
  const maxLen = optIntArg(req, { field: "maxLen", min: 0, max: 0x7fffffff });
  const maxAgeMs = optIntArg(req, { field: "maxAge", min: 0, max: MAX_AGE_MS });
  if (maxLen === undefined && maxAgeMs === undefined) {
    throw new ProtocolError("BAD_ARGUMENT", "trim needs maxLen or maxAge (or both)", { details: { field: "maxLen" } });
  }
  const approximate = boolArg(req, { field: "approximate", fallback: false });
  const policy = policyArg(req);
  return { removed: await s.backend.trim(stream, { maxLen, maxAgeMs, approximate, policy }) };
}

async function streamInfo(s: OpContext, req: Request) {
  const stream = streamArg(req);
  await needStream(s, stream);
  const [info, groups] = await Promise.all([s.backend.info(stream), s.backend.groupInfo(stream)]);
  return {
    ...info,
    removed: info.removed ?? { trim: 0, retention: 0, purge: 0 },
    droppedPending: info.droppedPending ?? 0,
    retention: info.retention ?? null,
    defaultRetention: s.state.retention ?? null,
    groups: groups.map((g) => ({ name: g.name, consumers: g.consumers.length, pending: g.pending, lag: g.lag ?? 0, lastDeliveredId: g.lastDeliveredId })),
    deadLetterStream: s.state.groups.deadLetterStream(stream),
  };
}

async function streamPurge(s: OpContext, req: Request) {
  const stream = streamArg(req);
  await needStream(s, stream);
  return { removed: await s.backend.purge(stream) };
}

async function streamDelete(s: OpContext, req: Request) {
  const stream = streamArg(req);
  const deleted = await s.backend.deleteStream(stream);
  if (!deleted) throw new ProtocolError("NOT_FOUND", `no stream ${JSON.stringify(stream)}`, { details: { field: "stream" } });
  return { deleted };
}

async function streamRetention(s: OpContext, req: Request) {
  const stream = streamArg(req);
  if (boolArg(req, { field: "clear", fallback: false })) {
    if (req.policy !== undefined || req.maxLen !== undefined || req.maxAge !== undefined) {
      throw new ProtocolError("BAD_ARGUMENT", "clear goes alone: it drops the stream's own retention", { details: { field: "clear" } });
    }
    await s.backend.setRetention(stream, undefined);
    return { retention: null };
  }
  const policy = policyArg(req) ?? "interest";
  const r: Retention = { policy };
  const maxLen = optIntArg(req, { field: "maxLen", min: 0, max: 0x7fffffff });
  const maxAge = optIntArg(req, { field: "maxAge", min: 1000, max: MAX_AGE_MS });
  if (maxLen !== undefined) r.maxLen = maxLen;
  if (maxAge !== undefined) r.maxAgeMs = maxAge;
  await s.backend.setRetention(stream, r);
  return { retention: r };
}

/** The stream administration ops, by name. */
export const STREAM_OPS: Record<string, (s: OpContext, req: Request) => unknown> = {
  trim,
  "stream.info": streamInfo,
  "stream.purge": streamPurge,
  "stream.delete": streamDelete,
  "stream.retention": streamRetention,
};

