/**
 * The operations of the sidecar protocol. Each takes the session and the
 * decoded request, checks every argument (a bad one is a `BAD_ARGUMENT`
 * naming the field), and returns the reply body or a promise of it.
 * docs/protocol.md documents each.
 *
 * @module
 */
import { readLive } from "../sdk/backend/live_read.ts";
import { add } from "./add_op.ts";
import type { ReadCursor } from "../sdk/backend/types.ts";
import {
  fromArg,
  intArg,
  isStreamName,
  mapArg,
  type OpContext,
  optIntArg,
  PROTOCOL_VERSION,
  ProtocolError,
  type Request,
  strArg,
  streamArg,
  type SubscriptionHandle,
  tokensEqual,
} from "./protocol.ts";

import { Subscription } from "./subscription.ts";
import { GROUP_OPS } from "./group_ops.ts";
import { DLQ_OPS } from "./dlq_ops.ts";
import { STREAM_OPS } from "./stream_ops.ts";
import { auth, newNonce } from "./trust.ts";


/** Most subscriptions on one connection. */
export const MAX_SUBSCRIPTIONS = 1024;
/** Most streams in one read. */
export const MAX_READ_STREAMS = 64;

let nextSubId = 1;

function hello(s: OpContext, req: Request) {
  if (s.helloDone) throw new ProtocolError("BAD_REQUEST", "hello was already sent on this connection");
  const version = intArg(req, { field: "version", min: 0, max: 0xffff });
  const client = strArg(req, { field: "client", maxLen: 128 })!;
  const token = req.token;
  if (token !== undefined && typeof token !== "string") throw new ProtocolError("BAD_ARGUMENT", "token must be a string", { details: { field: "token" } });
  if (version < 1) {
    throw new ProtocolError("VERSION_UNSUPPORTED", `protocol version ${version} is not supported; ampd speaks 1 to ${PROTOCOL_VERSION}`, { details: {
      min: 1,
      max: PROTOCOL_VERSION,
    } });
  }
  const want = s.state.config.token;
  if (want !== undefined && (typeof token !== "string" || !tokensEqual(token, want))) {
    // The session closes the connection after this reply, and counts and logs the failure.
    throw new ProtocolError("AUTH_FAILED", token === undefined ? "this ampd requires a token" : "wrong token");
  }
  const agent = req.agent === undefined ? undefined : strArg(req, { field: "agent", maxLen: 128 });
  const authRequired = s.state.trust.authRequired;
  if (authRequired && agent === undefined) {
    throw new ProtocolError("AUTH_FAILED", "this ampd has a keyring: hello must name the agent (agent), which then proves its key with auth");
  }
  s.helloDone = true;
  s.client = client;
  s.state.log.debug(`client ${s.id} is ${client}`);
  const reply: Record<string, unknown> = {
    version: Math.min(version, PROTOCOL_VERSION),
    server: "ampd",
    serverVersion: s.state.config.version,
    backend: s.backend.kind,
    maxFrame: s.state.config.maxFrame,
  };
  if (authRequired) {
    const nonce = newNonce();
    s.pendingAuth = { agent: agent!, nonce };
    reply.nonce = nonce;
  }
  return reply;
}

function read(s: OpContext, req: Request) {
  const streams = mapArg(req, "streams");
  const cursors: ReadCursor[] = [];
  for (const stream of Object.keys(streams)) {
    if (!isStreamName(stream)) streamArg({ stream }, `streams key ${JSON.stringify(stream)}`);
    cursors.push({ stream, after: fromArg(streams[stream], `streams[${JSON.stringify(stream)}]`) });
  }
  if (cursors.length === 0 || cursors.length > MAX_READ_STREAMS) {
    throw new ProtocolError("BAD_ARGUMENT", `streams must name 1 to ${MAX_READ_STREAMS} streams (was ${cursors.length})`, { details: { field: "streams" } });
  }
  const count = intArg(req, { field: "count", min: 1, max: 10_000, fallback: 100 });
  const block = optIntArg(req, { field: "block", min: 1, max: 300_000 });
  const maxBytes = s.state.config.maxFrame;
  return readLive(s.backend, cursors, { count, block, signal: s.abortSignal, maxBytes }).then((batches) => ({
    streams: batches.map((b) => ({ stream: b.stream, entries: b.entries.map((e) => [e.entryId, e.msg]), last: b.last })),
  }));
}

async function subscribe(s: OpContext, req: Request) {
  const stream = streamArg(req);
  let from = fromArg(req.from ?? "$", "from");
  const credit = intArg(req, { field: "credit", min: 0, max: 1_000_000, fallback: 0 });
  if (s.subscriptions.size >= MAX_SUBSCRIPTIONS) {
    throw new ProtocolError("LIMIT_EXCEEDED", `at most ${MAX_SUBSCRIPTIONS} subscriptions per connection`);
  }
  if (from === "$") from = (await s.backend.info(stream)).lastEntryId ?? "0";
  const id = nextSubId++;
  const sub = new Subscription(s, { id, stream, cursor: from, credit });
  s.subscriptions.set(id, sub);
  s.state.subscriptions++;
  // Start after the reply is queued, so no push precedes the reply that names the subscription.
  setTimeout(() => {
    if (s.subscriptions.get(id) === sub) {
      sub.run().finally(() => s.state.subscriptions--);
    } else s.state.subscriptions--;
  }, 0);
  return { sub: id, from };
}

function subArg(s: OpContext, req: Request): SubscriptionHandle {
  const id = intArg(req, { field: "sub", min: 1, max: Number.MAX_SAFE_INTEGER });
  const sub = s.subscriptions.get(id);
  if (sub === undefined) throw new ProtocolError("UNKNOWN_SUBSCRIPTION", `no subscription ${id} on this connection`, { details: { field: "sub" } });
  return sub;
}

function credit(s: OpContext, req: Request) {
  const sub = subArg(s, req);
  sub.addCredit(intArg(req, { field: "n", min: 1, max: 1_000_000 }));
  return { credit: sub.credit };
}

function unsubscribe(s: OpContext, req: Request) {
  const sub = subArg(s, req);
  sub.stop();
  s.subscriptions.delete(sub.id);
  return { cursor: sub.cursor };
}

function info(s: OpContext, req: Request) {
  if (req.stream !== undefined) return s.backend.info(streamArg(req));
  const st = s.state;
  return {
    server: "ampd",
    serverVersion: st.config.version,
    protocol: PROTOCOL_VERSION,
    uptimeMs: Date.now() - st.startedAt,
    backend: { ...s.backend.backendInfo() },
    subscriptions: st.subscriptions,
    shuttingDown: st.shuttingDown,
    ...st.counters,
    ...st.groups.counters,
    claimTimeoutMs: st.groups.claimTimeoutMs,
    maxDeliveries: st.groups.maxDeliveries,
  };
}

function streams(s: OpContext, req: Request) {
  const limit = intArg(req, { field: "limit", min: 1, max: 10_000, fallback: 10_000 });
  const grant = s.grant;
  return s.backend.streams({ limit }).then((names) => ({ streams: grant === undefined ? names : names.filter((n) => grant.sees(n)) }));
}

function ping() {
  return { time: Date.now() };
}

/** Every op, by name. */
export const OPS: Record<string, (s: OpContext, req: Request) => unknown> = {
  hello,
  auth,
  add,
  read,
  subscribe,
  credit,
  unsubscribe,
  info,
  streams,
  ping,
  ...GROUP_OPS,
  ...DLQ_OPS,
  ...STREAM_OPS,
};
