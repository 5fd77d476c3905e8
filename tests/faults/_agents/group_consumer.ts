/**
 * A consumer of a group that is killed mid-batch: fetches one batch, acks the
 * first `ackFirst` deliveries, then holds the rest unacked until SIGKILLed.
 * Prints `got <opId> <entryId>` per delivery, `acked <opId>` per ack, then `holding`.
 *
 * Usage: `bun tests/faults/_agents/group_consumer.ts '{"socket":..., "stream":..., "group":..., "consumer":..., "count":50, "ackFirst":20}'`
 */
import { connect } from "../../../sdk/client/connect.ts";

interface Options {
  socket: string;
  stream: string;
  group: string;
  consumer: string;
  count: number;
  ackFirst: number;
}

const o = JSON.parse(process.argv[2]!) as Options;
const bus = await connect({ socket: o.socket, name: o.consumer });
const consumer = bus.group(o.stream, o.group, { from: "0" }).consumer(o.consumer, { count: o.count, block: 1000 });
let batch = await consumer.fetch();
while (batch.length === 0) batch = await consumer.fetch();
for (const d of batch) console.log(`got ${d.message.opId} ${d.entryId}`);
for (const d of batch.slice(0, o.ackFirst)) {
  await d.ack();
  console.log(`acked ${d.message.opId}`);
}
console.log("holding");
// Mid-batch: the rest stays pending until the test kills this process.
setInterval(() => {}, 60_000);
