/**
 * The checks a decoded request passes before its op runs: a map with a good
 * `rid` and a known `op`, hello first, auth on an ampd with a keyring, and
 * nothing new while ampd shuts down.
 *
 * @module
 */
import { OPS } from "./ops.ts";
import { type OpContext, ProtocolError, type Request, show } from "./protocol.ts";

/** A request that may run. */
export interface Admitted {
  rid: number;
  op: string;
  request: Request;
  handler: (s: OpContext, req: Request) => unknown;
}

/** A request refused before it runs: the answer, under `rid`; `bad` when it counts as a bad request. */
export interface Refused {
  rid: number | null;
  error: ProtocolError;
  bad: boolean;
}

/** Where the connection stands when the request arrives; asked only when a check needs it (one object per session, not per request). */
export interface Standing {
  helloDone(): boolean;
  /** After hello, and after auth on an ampd with a keyring. */
  opened(): boolean;
  shuttingDown(): boolean;
}

/** Checks `req` (a decoded frame) against the protocol and the connection's standing. */
export function admitRequest(req: unknown, at: Standing): Admitted | Refused {
  if (typeof req !== "object" || req === null || Array.isArray(req) || req instanceof Uint8Array) {
    return { rid: null, error: new ProtocolError("BAD_REQUEST", "a request must be a MessagePack map with op and rid"), bad: true };
  }
  const r = req as Request;
  const rid = r.rid;
  if (typeof rid !== "number" || !Number.isInteger(rid) || rid < 0 || rid > 0xffffffff) {
    const got = rid === undefined ? "missing" : show(rid);
    return { rid: null, error: new ProtocolError("BAD_REQUEST", `rid must be an integer from 0 to 4294967295 (was ${got})`, { details: { field: "rid" } }), bad: true };
  }
  const op = r.op;
  const handler = typeof op === "string" && Object.hasOwn(OPS, op) ? OPS[op] : undefined;
  if (handler === undefined) {
    const known = Object.keys(OPS).join(", ");
    return { rid, error: new ProtocolError("UNKNOWN_OP", `unknown op ${show(op)}; known ops: ${known}`, { details: { field: "op" } }), bad: true };
  }
  if (!at.helloDone() && op !== "hello") return { rid, error: new ProtocolError("HELLO_REQUIRED", `send hello before ${op}`), bad: false };
  if (!at.opened() && op !== "hello" && op !== "auth" && op !== "ping") {
    return { rid, error: new ProtocolError("AUTH_REQUIRED", `this ampd has a keyring: authenticate (auth) before ${op}`), bad: false };
  }
  if (at.shuttingDown() && op !== "ping" && op !== "info") return { rid, error: new ProtocolError("SHUTTING_DOWN", "ampd is shutting down; reconnect later"), bad: false };
  return { rid, op: op as string, request: r, handler };
}
