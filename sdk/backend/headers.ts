/**
 * The stored headers of a message, and the expiry rule every read applies to
 * them. ampd's `add`, the in-process bus and the dead-letter mover all build
 * headers here, so no copy can forget a field (`expiresAt` is what decides
 * delivery).
 *
 * @module
 */
import type { AISPMessage } from "../envelope/envelope.ts";
import { MessageExpiredError } from "../errors.ts";

export { MessageExpiredError };
import type { EntryHeaders } from "./types.ts";

/**
 * True when headers carry an `expiresAt` before `now`: such an entry is not
 * delivered by any read (stream reads, subscriptions, group reads, claims).
 *
 * @example
 * ```ts
 * const headers = { id: "m1", opId: "op-1", type: "task", sender: "coder", receiver: "tester" };
 * if (!isExpired({ ...headers, expiresAt: Date.now() - 1 }, Date.now())) throw new Error("expected expired");
 * if (isExpired(headers, Date.now())) throw new Error("no expiresAt: never expires");
 * ```
 */
export function isExpired(headers: EntryHeaders, now: number): boolean {
  return headers.expiresAt !== undefined && headers.expiresAt < now;
}

/**
 * The plain-text headers stored beside a message's bytes (docs/storage.md):
 * `id`, `opId`, `type`, `sender`, `receiver`, and `tier` and `expiresAt` when
 * the message has them. Throws `MessageExpiredError` when the message has
 * already expired at `now` (default: the clock): adds refuse such messages.
 *
 * @example
 * ```ts
 * import { createMessage, encode, MemoryBackend } from "@ampbus/ampbus";
 *
 * const backend = new MemoryBackend();
 * const m = createMessage({ type: "task", sender: "coder", receiver: "tester" });
 * await backend.add("tasks", { headers: storedHeaders(m), msg: encode(m) });
 * await backend.close();
 * ```
 */
export function storedHeaders(msg: Pick<AISPMessage, "id" | "opId" | "type" | "sender" | "receiver" | "tier" | "expiresAt">, now: number = Date.now()): EntryHeaders {
  const headers: EntryHeaders = { id: msg.id, opId: msg.opId, type: msg.type, sender: msg.sender, receiver: msg.receiver };
  if (msg.tier !== undefined) headers.tier = msg.tier;
  if (msg.expiresAt !== undefined) {
    headers.expiresAt = msg.expiresAt;
    if (msg.expiresAt < now) throw new MessageExpiredError(msg.expiresAt, now);
  }
  return headers;
}
