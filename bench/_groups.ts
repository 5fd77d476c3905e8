/**
 * Group consume with acks through the SDK, as the consumer-group bench
 * (`groups.ts`) and the durable-backend comparison of the bus bench
 * (`bus.ts --durable`) both time it: the iterator with one `await d.ack()`
 * per delivery, and `fetch()` with one batched ack per fetch. `Tally` keeps
 * what was delivered and acked, so a row can be checked afterwards
 * (each entry delivered once, every ack counted, nothing left pending).
 *
 * @module
 */
import type { AmpClient } from "../mod.ts";
import type { GroupConsumer } from "../sdk/client/group.ts";

/** Throws `what` unless `ok`: a bench row that did not do what it claims fails loudly. */
export function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

/** Delivered entry ids and ack counts of one row; checked against the expected count afterwards. */
export class Tally {
  seen = new Set<string>();
  acked = 0;
  redelivered = 0;
  fetches = 0;

  see(id: string, deliveries: number): void {
    this.seen.add(id);
    if (deliveries !== 1) this.redelivered++;
  }

  /**
   * Every one of `expected` entries delivered once, `acked` of them acked
   * (unless `ackCounted` is false), and `pending` (the group's count after
   * the run) zero; `pending: undefined` skips that last check.
   */
  check(what: string, { expected, pending, ackCounted = true }: { expected: number; pending: number | undefined; ackCounted?: boolean }): void {
    check(this.seen.size === expected, `${what}: ${this.seen.size} distinct entries delivered, expected ${expected}`);
    check(this.redelivered === 0, `${what}: ${this.redelivered} entries delivered more than once`);
    if (ackCounted) check(this.acked === expected, `${what}: acks counted ${this.acked}, expected ${expected}`);
    if (pending !== undefined) check(pending === 0, `${what}: ${pending} entries still pending after the run`);
  }
}

/** The pending count of `group` on `stream`, from ampd's `groupInfo`. */
export async function groupPending(c: AmpClient, { stream, group }: { stream: string; group: string }): Promise<number> {
  const info = await c.port.groupInfo(stream);
  const g = (info.groups as { name: string; pending: number }[]).find((x) => x.name === group);
  if (g === undefined) throw new Error(`group ${group} not found on ${stream}`);
  return g.pending;
}

/**
 * Iterates `cons` (one per connection) with `await d.ack()` per delivery
 * until `total` are acked, or until `until` (a `performance.now()` time);
 * then ends every consumer. `t.acked` is the acks awaited. Deliveries a
 * consumer fetched but had not handed out when it ended stay pending.
 */
export async function iterateAndAck(cons: readonly GroupConsumer[], { total, until = Infinity }: { total: number; until?: number }): Promise<Tally> {
  const t = new Tally();
  let acked = 0;
  let fail: Error | undefined;
  const end = () => {
    for (const o of cons) void o.return();
  };
  await Promise.all(cons.map(async (c) => {
    try {
      for await (const d of c) {
        t.see(d.entryId, d.deliveries);
        await d.ack();
        if (++acked === total || performance.now() >= until) end();
      }
    } catch (e) {
      fail ??= e as Error;
      end();
    }
  }));
  if (fail) throw fail;
  t.acked = acked;
  t.fetches = -1;
  return t;
}

/**
 * `fetch()` on each of `cons` and one batched ack (`port.ack`) of the fetched
 * ids on the consumer's own connection (`clients[i]`), until a fetch comes
 * back empty (on a pre-filled stream: every entry went to some consumer) or
 * until `until` (a `performance.now()` time). Everything fetched is acked.
 */
export async function fetchAndAck(
  { clients, cons, stream, group }: { clients: readonly AmpClient[]; cons: readonly GroupConsumer[]; stream: string; group: string },
  { until = Infinity }: { until?: number } = {},
): Promise<Tally> {
  const t = new Tally();
  await Promise.all(cons.map(async (c, i) => {
    while (performance.now() < until) {
      const got = await c.fetch();
      t.fetches++;
      if (got.length === 0) return;
      for (const d of got) t.see(d.entryId, d.deliveries);
      const n = await clients[i].port.ack({ stream, group }, got.map((d) => d.entryId));
      t.acked += n; // (not `t.acked += await`: that reads t.acked before the await, and the consumers run concurrently)
    }
  }));
  return t;
}
