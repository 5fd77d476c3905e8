/**
 * Consumer-group operations of the sidecar protocol: `group.create`,
 * `group.read`, `ack`, `nack`, `extend`, `pending`, `claim`, `group.info`.
 * Delivery rules (claim of stale entries, dead letters, expiry) live in
 * `GroupReader`, shared with the in-process bus.
 *
 * @module
 */
import { isEntryId } from "../sdk/backend/args.ts";
import type { GroupEntry } from "../sdk/backend/types.ts";
import { fromArg, intArg, type OpContext, optIntArg, ProtocolError, type Request, strArg, streamArg } from "./protocol.ts";


function nameArg(req: Request, field: string): string {
  return strArg(req, { field, maxLen: 128 })!;
}

function idsArg(req: Request, field = "ids"): string[] {
  const v = req[field];
  if (!Array.isArray(v) || v.length === 0 || v.length > 10_000) {
    throw new ProtocolError("BAD_ARGUMENT", `${field} must be an array of 1 to 10000 entry ids`, { details: { field } });
  }
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== "string" || !isEntryId(v[i])) {
      throw new ProtocolError("BAD_ARGUMENT", `${field}[${i}] must be an entry id like "1706745600000-0" (was ${JSON.stringify(v[i]) ?? typeof v[i]})`, { details: { field } });
    }
  }
  return v as string[];
}

function wire(entries: GroupEntry[]) {
  return entries.map((e) => [e.entryId, e.msg, e.deliveries]);
}

async function groupCreate(s: OpContext, req: Request) {
  const stream = streamArg(req);
  const group = nameArg(req, "group");
  const from = fromArg(req.from ?? "$", "from");
  return await s.backend.createGroup({ stream, group }, { from });
}

async function groupRead(s: OpContext, req: Request) {
  const stream = streamArg(req);
  const group = nameArg(req, "group");
  const consumer = nameArg(req, "consumer");
  const count = intArg(req, { field: "count", min: 1, max: 10_000, fallback: 100 });
  const block = optIntArg(req, { field: "block", min: 1, max: 300_000 });
  const maxBytes = s.state.config.maxFrame; // a longer delivery is cut; the rest goes to this consumer's next read
  const entries = await s.state.groups.read({ stream, group, consumer, count, block, signal: s.abortSignal, maxBytes });
  s.state.metrics.delivered += entries.length;
  return { entries: wire(entries) };
}

async function ack(s: OpContext, req: Request) {
  const stream = streamArg(req);
  const group = nameArg(req, "group");
  const ids = idsArg(req);
  const m = s.state.metrics;
  const t0 = performance.now();
  const acked = await s.backend.ack({ stream, group }, ids);
  m.roundTrips.ack.observe(performance.now() - t0);
  m.acked += acked;
  return { acked };
}

async function nack(s: OpContext, req: Request) {
  const stream = streamArg(req);
  const group = nameArg(req, "group");
  const consumer = nameArg(req, "consumer");
  const ids = idsArg(req);
  const delay = intArg(req, { field: "delay", min: 0, max: 24 * 3_600_000, fallback: 0 });
  const t0 = performance.now();
  const nacked = await s.backend.nack({ stream, group, consumer }, { entryIds: ids, delayMs: delay, claimTimeoutMs: s.state.groups.claimTimeoutMs });
  s.state.metrics.roundTrips.nack.observe(performance.now() - t0);
  s.state.metrics.nacked += nacked;
  s.state.groups.noteNack({ stream, group });
  return { nacked };
}

async function extend(s: OpContext, req: Request) {
  const stream = streamArg(req);
  const group = nameArg(req, "group");
  const consumer = nameArg(req, "consumer");
  return { extended: await s.backend.extend({ stream, group, consumer }, idsArg(req)) };
}

async function pending(s: OpContext, req: Request) {
  const stream = streamArg(req);
  const group = nameArg(req, "group");
  const consumer = req.consumer === undefined ? undefined : nameArg(req, "consumer");
  const count = intArg(req, { field: "count", min: 1, max: 10_000, fallback: 100 });
  return { pending: await s.backend.pending({ stream, group }, { consumer, count }) };
}

async function claim(s: OpContext, req: Request) {
  const stream = streamArg(req);
  const group = nameArg(req, "group");
  const consumer = nameArg(req, "consumer");
  const minIdle = optIntArg(req, { field: "minIdle", min: 0, max: 24 * 3_600_000 });
  const count = intArg(req, { field: "count", min: 1, max: 10_000, fallback: 100 });
  const maxBytes = s.state.config.maxFrame;
  const entries = await s.state.groups.claimFor({ stream, group, consumer, count, maxBytes }, minIdle ?? s.state.groups.claimTimeoutMs);
  s.state.metrics.delivered += entries.length;
  return { entries: wire(entries) };
}

async function groupInfo(s: OpContext, req: Request) {
  const stream = streamArg(req);
  return { groups: await s.backend.groupInfo(stream), deadLetterStream: s.state.groups.deadLetterStream(stream) };
}

/** The consumer-group ops, by name. */
export const GROUP_OPS: Record<string, (s: OpContext, req: Request) => unknown> = {
  "group.create": groupCreate,
  "group.read": groupRead,
  ack,
  nack,
  extend,
  pending,
  claim,
  "group.info": groupInfo,
};
