/**
 * Fan-out: one publisher, `subscribers` subscriptions on as many connections
 * of their own, every subscriber must receive every message once. A row
 * subscribes first (untimed), then times the publish up to the last
 * delivery, and reports deliveries per second (messages × subscribers over
 * that time). Subscribers count only; none decodes.
 *
 * The systems: ampd (an SDK client per subscriber, raw `subscribe` from
 * `"$"` with a credit window re-granted by halves), JetStream (an ordered
 * push consumer per subscriber) and core NATS (a plain subscription per
 * subscriber).
 *
 * @module
 */
import type { NatsConnection } from "nats";
import { consumerOpts } from "nats";
import type { AmpClient } from "../mod.ts";
import { check } from "./_groups.ts";
import { withTimeout } from "./_proc.ts";

/** Entries an ampd subscriber lets ampd send ahead (re-granted by halves), as the bench's consume rows. */
const WINDOW = 1000;

/** The subscriptions of one fan-out round, made before the timed part. */
export class Fanout {
  readonly #perSub: number;
  readonly #counts: Uint32Array;
  readonly #stops: (() => Promise<unknown>)[] = [];
  #left: number;
  #done!: () => void;
  readonly #all: Promise<void>;
  #over = "";

  private constructor({ subscribers, perSub }: { subscribers: number; perSub: number }) {
    this.#perSub = perSub;
    this.#counts = new Uint32Array(subscribers);
    this.#left = subscribers;
    this.#all = new Promise((resolve) => (this.#done = resolve));
  }

  /** Subscriber `i` received `k` more messages. */
  #got(i: number, k: number): void {
    const before = this.#counts[i];
    const now = before + k;
    this.#counts[i] = now;
    if (now > this.#perSub && this.#over === "") this.#over = `subscriber ${i} received ${now} of ${this.#perSub} messages`;
    if (before < this.#perSub && now >= this.#perSub && --this.#left === 0) this.#done();
  }

  /** Every subscriber's count is `perSub`, else the row fails naming how many fell short (a lost message is a bug). */
  #check(what: string): void {
    check(this.#over === "", `${what}: ${this.#over}`);
    const short = Array.from(this.#counts).filter((c) => c < this.#perSub);
    check(short.length === 0, `${what}: ${short.length} subscribers short (fewest ${Math.min(...short)} of ${this.#perSub})`);
  }

  /**
   * The timed part: runs `publish` and waits until every subscriber has all
   * `perSub` messages. Resolves with the deliveries (messages × subscribers).
   */
  async run(what: string, publish: () => Promise<unknown>, timeoutMs: number): Promise<number> {
    await publish();
    await withTimeout(this.#all, { what: `${what}: deliveries`, ms: timeoutMs }).catch((e: Error) => {
      const total = this.#counts.reduce((a, b) => a + b, 0);
      throw new Error(`${e.message}: ${total} of ${this.#perSub * this.#counts.length} delivered, ${this.#left} subscribers short`);
    });
    this.#check(what);
    return this.#perSub * this.#counts.length;
  }

  /** Ends every subscription. */
  async close(): Promise<void> {
    await Promise.all(this.#stops.map((s) => s().catch(() => {})));
  }

  /** One ampd subscription from `"$"` on `stream` per client in `clients`. */
  static async ampd({ clients, stream, perSub }: { clients: readonly AmpClient[]; stream: string; perSub: number }): Promise<Fanout> {
    const f = new Fanout({ subscribers: clients.length, perSub });
    await Promise.all(clients.map(async (c, i) => {
      const port = c.port;
      let got = 0;
      let granted = 0;
      let subId = -1;
      const { sub } = await port.subscribe(stream, {
        from: "$",
        credit: WINDOW,
        onEntries: (entries) => {
          got += entries.length;
          f.#got(i, entries.length);
          if (got - granted >= WINDOW / 2 && subId >= 0) {
            const g = got - granted;
            granted += g;
            port.credit(subId, g).catch(() => {});
          }
        },
      });
      subId = sub;
      f.#stops.push(() => port.unsubscribe(sub));
    }));
    return f;
  }

  /** One JetStream ordered push consumer on `subject` (new: deliver all) per connection in `conns`. */
  static async jetstream({ conns, subject, perSub }: { conns: readonly NatsConnection[]; subject: string; perSub: number }): Promise<Fanout> {
    const f = new Fanout({ subscribers: conns.length, perSub });
    await Promise.all(conns.map(async (nc, i) => {
      const opts = consumerOpts().orderedConsumer().deliverAll().callback((err) => {
        if (!err) f.#got(i, 1);
      });
      const sub = await nc.jetstream().subscribe(subject, opts);
      f.#stops.push(() => sub.destroy());
      await nc.flush();
    }));
    return f;
  }

  /** One core NATS subscription on `subject` per connection in `conns`. */
  static async core({ conns, subject, perSub }: { conns: readonly NatsConnection[]; subject: string; perSub: number }): Promise<Fanout> {
    const f = new Fanout({ subscribers: conns.length, perSub });
    await Promise.all(conns.map(async (nc, i) => {
      const sub = nc.subscribe(subject, { callback: (err) => err ? undefined : f.#got(i, 1) });
      f.#stops.push(async () => sub.unsubscribe());
      await nc.flush();
    }));
    return f;
  }
}
