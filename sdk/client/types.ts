/**
 * The client's shared vocabulary: what a delivery, a publish result and the
 * read options are, and `ClientCore`, the part of `AmpClient` that groups,
 * `listen()` and request/reply build on. They import this file, not the
 * client, so imports run one way: client → group, listen, request → types.
 *
 * @module
 */
import type { AISPMessage } from "../envelope/envelope.ts";
import { BROADCAST } from "../envelope/envelope.ts";
import type { AmpbusError } from "../errors.ts";
import type { BusPort, RawEntry } from "./bus_port.ts";

/** A message as delivered from a stream. */
export interface Delivery {
  stream: string;
  /** Stream entry id (`ms-seq`): where this delivery sits in its stream. */
  entryId: string;
  message: AISPMessage;
  /** The message bytes as stored (canonical MessagePack). */
  bytes: Uint8Array;
}

/** The outcome of publishing. */
export interface AddResult {
  stream: string;
  entryId: string;
  /** True when the message's opId was already stored in that stream: nothing new was stored. */
  duplicate: boolean;
}

/** Where a read or iteration starts: `"0"` (the beginning), `"$"` (new entries only) or after an entry id. */
export type StartFrom = "0" | "$" | string;

/** Options of `streamRead()`. */
export interface StreamReadOptions {
  /** Most entries per stream. Defaults to 100. */
  count?: number;
  /** Wait up to this many ms for entries when there are none. Defaults to not waiting. */
  block?: number;
}

/** Options of `streamIter()`. */
export interface StreamIterOptions {
  /** Defaults to `"$"`: only messages added after the iterator was created. */
  from?: StartFrom;
  /** Most entries the sidecar sends ahead of what you consumed (the credit window). Defaults to 256. */
  window?: number;
}

/** Called for an entry whose bytes are not a valid message (it is skipped). */
export type InvalidEntryHandler = (info: { stream: string; entryId: string; error: AmpbusError }) => void;

/** The inbox stream of an agent: `inbox.<name>`; `"broadcast"` for everyone. */
export function inboxOf(agent: string): string {
  return agent === BROADCAST ? BROADCAST : `inbox.${agent}`;
}

/** What `streamIter()` returns: an async iterator of deliveries. */
export interface DeliveryIterator extends AsyncIterableIterator<Delivery> {
  /**
   * Resolves with the entry id the subscription starts after, once the bus
   * has it (`"$"` is resolved to the stream's last entry at that moment).
   * Messages added after `ready` resolves are sure to be delivered.
   */
  readonly ready: Promise<string>;
}

/** What groups, `listen()` and request/reply use of a client (`AmpClient` implements it). */
export interface ClientCore {
  /** The port the client talks through. */
  readonly port: BusPort;
  /** Decodes raw entries into deliveries; an invalid one is reported and skipped. */
  deliveries(stream: string, entries: RawEntry[]): Delivery[];
  /** Publishes to a stream. */
  streamAdd(stream: string, msg: AISPMessage, options?: { maxLen?: number }): Promise<AddResult>;
  /** Publishes to the receiver's inbox. */
  send(msg: AISPMessage): Promise<AddResult>;
  /** Follows a stream. */
  streamIter(stream: string, options?: StreamIterOptions): DeliveryIterator;
  /** Registers an iterator that `close()` ends; returns the function that forgets it. */
  track(it: { return(): Promise<unknown> }): () => void;
}
