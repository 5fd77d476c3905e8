/**
 * Request/reply over the bus. A request goes to the receiver's inbox; the
 * answer goes to the requester's reply stream `reply.<sender>` and is
 * matched by `replyTo` = the request's id. Each client follows that stream
 * only while it has requests waiting, so a timeout leaves no subscription
 * behind once `REPLY_LINGER_MS` has passed.
 *
 * @module
 */
import type { AISPMessage } from "../envelope/envelope.ts";
import { createMessage, type MessageFields } from "../envelope/builder.ts";
import { TimeoutError } from "../errors.ts";
import type { AddResult, ClientCore, Delivery, DeliveryIterator } from "./types.ts";

/**
 * How long a reply stream stays followed after the last waiting request (ms):
 * back-to-back requests reuse one subscription instead of opening one each.
 *
 * @example
 * ```ts
 * import { REPLY_LINGER_MS } from "@ampbus/ampbus";
 *
 * if (REPLY_LINGER_MS !== 1000) throw new Error("expected 1 s");
 * ```
 */
export const REPLY_LINGER_MS = 1000;

/**
 * The reply stream of an agent: `reply.<agent>`, where the answers to its
 * requests go.
 *
 * @example
 * ```ts
 * import { replyStreamOf } from "@ampbus/ampbus";
 *
 * if (replyStreamOf("coder") !== "reply.coder") throw new Error("expected reply.coder");
 * ```
 */
export function replyStreamOf(agent: string): string {
  return `reply.${agent}`;
}

/**
 * Fields of a reply; the rest comes from the request (receiver, `replyTo`,
 * conversation). `type` defaults to `"result"`.
 *
 * @example
 * ```ts
 * import { createMessage, type ReplyFields, replyMessage } from "@ampbus/ampbus";
 *
 * const task = createMessage({ type: "task", sender: "coder", receiver: "tester" });
 * const fields: ReplyFields = { type: "error", payload: { reason: "no tests found" } };
 * if (replyMessage(task, fields).type !== "error") throw new Error("expected an error reply");
 * ```
 */
export type ReplyFields = Partial<MessageFields>;

/**
 * Builds the reply to `to`: receiver = its sender, replyTo = its id, same
 * conversation (or `to`'s id, which starts one). Sender defaults to `to`'s
 * receiver, type to `"result"`.
 *
 * @example
 * ```ts
 * import { createMessage, replyMessage } from "@ampbus/ampbus";
 *
 * const task = createMessage({ type: "task", sender: "coder", receiver: "tester" });
 * const answer = replyMessage(task, { payload: { passed: true } });
 * if (answer.receiver !== "coder" || answer.replyTo !== task.id) throw new Error("not a reply to task");
 * ```
 */
export function replyMessage(to: AISPMessage, fields: ReplyFields): AISPMessage {
  return createMessage({
    type: "result",
    sender: to.receiver,
    ...fields,
    receiver: to.sender,
    replyTo: to.id,
    conversationId: fields.conversationId ?? to.conversationId ?? to.id,
  } as MessageFields);
}

interface Waiting {
  resolve: (d: Delivery) => void;
  reject: (e: Error) => void;
}

/** Correlates replies for one client. */
export class Requester {
  #client: ClientCore;
  #waiting = new Map<string, Waiting>();
  #followers = new Map<string, { it: DeliveryIterator; waiting: number; linger?: ReturnType<typeof setTimeout> }>();

  constructor(client: ClientCore) {
    this.#client = client;
  }

  /** Requests currently waiting for a reply. */
  get waiting(): number {
    return this.#waiting.size;
  }

  async #follow(agent: string): Promise<void> {
    const stream = replyStreamOf(agent);
    let f = this.#followers.get(stream);
    if (f === undefined) {
      const it = this.#client.streamIter(stream, { from: "$" });
      f = { it, waiting: 0 };
      this.#followers.set(stream, f);
      void this.#pump(stream, it);
    }
    if (f.linger !== undefined) {
      clearTimeout(f.linger);
      f.linger = undefined;
    }
    f.waiting++;
    await f.it.ready;
  }

  async #pump(stream: string, it: DeliveryIterator): Promise<void> {
    try {
      for await (const d of it) {
        const id = d.message.replyTo;
        const w = id === undefined ? undefined : this.#waiting.get(id);
        if (w !== undefined) {
          this.#waiting.delete(id!);
          w.resolve(d);
        }
      }
    } catch (e) {
      // The connection failed: every request on this stream fails with it.
      for (const w of this.#waiting.values()) w.reject(e as Error);
      this.#waiting.clear();
    } finally {
      if (this.#followers.get(stream)?.it === it) this.#followers.delete(stream);
    }
  }

  #unfollow(agent: string): void {
    const stream = replyStreamOf(agent);
    const f = this.#followers.get(stream);
    if (f === undefined) return;
    if (--f.waiting === 0) {
      // Keep following a moment: the next request often comes right after.
      f.linger = setTimeout(() => {
        if (this.#followers.get(stream) !== f || f.waiting > 0) return;
        this.#followers.delete(stream);
        void f.it.return?.();
      }, REPLY_LINGER_MS);
      // Never keep a process alive just to linger.
      (f.linger as { unref?: () => void }).unref?.();
    }
  }

  /** Sends `msg` and resolves with the reply, or rejects with `TimeoutError` after `timeout` ms. */
  async request(msg: AISPMessage, timeout: number): Promise<Delivery> {
    await this.#follow(msg.sender);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const reply = new Promise<Delivery>((resolve, reject) => {
        this.#waiting.set(msg.id, { resolve, reject });
        timer = setTimeout(() => {
          if (this.#waiting.delete(msg.id)) {
            reject(new TimeoutError(`no reply to ${msg.id} (${msg.type} for ${msg.receiver}) within ${timeout} ms`));
          }
        }, timeout);
      });
      await this.#client.send(msg);
      return await reply;
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(msg.id);
      this.#unfollow(msg.sender);
    }
  }

  /** Sends the reply to `to` on the requester's reply stream. */
  reply(to: AISPMessage, fields: ReplyFields | AISPMessage): Promise<AddResult> {
    const m = "v" in fields && fields.replyTo === to.id ? (fields as AISPMessage) : replyMessage(to, fields);
    return this.#client.streamAdd(replyStreamOf(to.sender), m);
  }
}
