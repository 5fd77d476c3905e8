/**
 * What the agent client needs from a bus: the sidecar over a socket
 * (`SocketPort`) or streams in this process (`LocalPort`) give the same.
 *
 * @module
 */

/** An entry as delivered: its stream entry id and the encoded message. */
export type RawEntry = [entryId: string, msg: Uint8Array];

/** Entries of one stream. */
export interface RawBatch {
  stream: string;
  entries: RawEntry[];
  /**
   * Where the next read of the stream goes on after: the last entry returned,
   * or a later one the read skipped as expired. Absent from older sidecars
   * (then the last entry's id).
   */
  last?: string;
}

/** Called with each pushed batch of a subscription. */
export type PushHandler = (entries: RawEntry[]) => void;

/** Server and backend facts (`info` without a stream). */
export type BusInfo = Record<string, unknown>;

/** Length and first/last entry of a stream. */
export interface StreamInfo {
  stream: string;
  length: number;
  firstEntryId: string | null;
  lastEntryId: string | null;
}

/** A group entry as delivered: entry id, encoded message, delivery count. */
export type RawGroupEntry = [entryId: string, msg: Uint8Array, deliveries: number];

/** A pending entry of a group. */
export interface PendingEntry {
  entryId: string;
  consumer: string;
  idleMs: number;
  deliveries: number;
}

/** The operations of the sidecar protocol, as calls. */
export interface BusPort {
  groupCreate(stream: string, group: string, from: string): Promise<{ created: boolean }>;
  groupRead(stream: string, group: string, consumer: string, options: { count?: number; block?: number }): Promise<RawGroupEntry[]>;
  ack(stream: string, group: string, ids: string[]): Promise<number>;
  nack(stream: string, group: string, consumer: string, ids: string[], delay: number): Promise<number>;
  extend(stream: string, group: string, consumer: string, ids: string[]): Promise<number>;
  pending(stream: string, group: string, consumer?: string): Promise<PendingEntry[]>;
  claim(stream: string, group: string, consumer: string, minIdle?: number): Promise<RawGroupEntry[]>;
  groupInfo(stream: string): Promise<Record<string, unknown>>;
  add(stream: string, msg: Uint8Array, maxLen?: number): Promise<{ entryId: string; duplicate: boolean }>;
  read(streams: Record<string, string>, options: { count?: number; block?: number }): Promise<RawBatch[]>;
  /** Starts a push subscription; `onEntries` receives batches until `unsubscribe`. */
  subscribe(stream: string, from: string, credit: number, onEntries: PushHandler): Promise<{ sub: number; from: string }>;
  credit(sub: number, n: number): Promise<void>;
  unsubscribe(sub: number): Promise<void>;
  trim(stream: string, maxLen: number, approximate: boolean): Promise<number>;
  streamInfo(stream: string): Promise<StreamInfo>;
  info(): Promise<BusInfo>;
  ping(): Promise<number>;
  close(): Promise<void>;
  /** Resolves when the port can no longer be used. */
  closed(): Promise<Error | undefined>;
}
