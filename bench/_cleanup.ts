/**
 * After a bench round: the streams it wrote are deleted through ampd (op
 * `stream.delete`), with their consumer groups and their dedupe keys, so a
 * run leaves neither leftover streams nor `<prefix>{<stream>}:op:*` keys on
 * Redis (a trim to 0 left both).
 */
import type { AmpClient } from "../sdk/client/client.ts";
import { BusError } from "../sdk/errors.ts";

type Requesting = { request(op: string, args: Record<string, unknown>): Promise<Record<string, unknown>> };

/** Deletes each of `streams` (and its `.dlq`, if a run made one); a stream already gone is fine. */
export async function dropStreams(client: AmpClient, streams: readonly string[]): Promise<void> {
  const port = client.port as unknown as Requesting;
  for (const stream of streams) {
    for (const s of [stream, `${stream}.dlq`]) {
      try {
        await port.request("stream.delete", { stream: s });
      } catch (e) {
        if (!(e instanceof BusError && e.code === "NOT_FOUND")) throw e;
      }
    }
  }
}
