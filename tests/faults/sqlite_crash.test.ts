/**
 * ampd on the SQLite backend SIGKILLed in the middle of 50 000 publishes, with
 * two consumers of a group working through them, then restarted on the same
 * file and socket. The clients reconnect on their own. Checked:
 *
 * - every add whose reply arrived is in the store: in the file as the kill
 *   left it (a copy of it, opened before the restart), and in the stream and
 *   the group after the restart; the stream holds each opId once;
 * - every ack whose reply arrived before the kill is durable: none of those
 *   entries is pending in the file the kill left;
 * - the idempotent consumer processes every opId once, and never sees one
 *   opId under two entry ids (a second stored copy);
 * - entries a consumer of the dead run took and never acked (a third consumer
 *   that does not come back) are claimed by the live consumers after the
 *   claim timeout, counted from their delivery before the kill;
 * - the history read from "0" after the restart is in order: entry ids
 *   strictly increasing, each acknowledged opId once, under the entry id its
 *   add's reply gave.
 */
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../../sdk/client/connect.ts";
import type { AmpClient } from "../../sdk/client/client.ts";
import type { GroupConsumer, GroupDelivery } from "../../sdk/client/group.ts";
import type { ReconnectingPort } from "../../sdk/client/reconnect.ts";
import type { Ampd } from "../_helpers/ampd.ts";
import { DedupeStore, missing, numbered, printFigures, Processes, until } from "./_fault.ts";
import { orderProblem, readAll, startSqlite } from "./_sqlite.ts";

const procs = new Processes();
afterEach(() => procs.disposeAll());

const CLAIM_TIMEOUT_MS = 1000;

/** What the store file held the moment ampd died, read from a copy (the real files are left to the restart). */
interface DeadRun {
  /** opIds stored in `stream`. */
  stored: Set<string>;
  /** Entries of group `g` pending in the file: opId -> delivery count. */
  pending: Map<string, number>;
  integrity: string;
}

function inspectDeadRun(data: string, copyDir: string, stream: string): DeadRun {
  const copy = join(copyDir, "dead-run.db");
  copyFileSync(data, copy);
  if (existsSync(`${data}-wal`)) copyFileSync(`${data}-wal`, `${copy}-wal`);
  const db = new Database(copy);
  try {
    const integrity = (db.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check;
    const stored = new Set(
      (db.query("SELECT e.op_id AS op FROM entries e JOIN streams s ON s.id = e.stream_id WHERE s.name = ?").all(stream) as { op: string }[]).map((r) => r.op),
    );
    const pending = new Map<string, number>();
    const rows = db.query(
      `SELECT e.op_id AS op, p.deliveries AS n FROM pending p
         JOIN groups g ON g.id = p.group_id
         JOIN streams s ON s.id = g.stream_id
         JOIN entries e ON e.stream_id = g.stream_id AND e.ms = p.ms AND e.seq = p.seq
       WHERE s.name = ? AND g.name = 'g'`,
    ).all(stream) as { op: string; n: number }[];
    for (const r of rows) pending.set(r.op, r.n);
    return { stored, pending, integrity };
  } finally {
    db.close();
  }
}

describe("ampd (sqlite) killed under load", () => {
  test("every acknowledged add and ack survives; the group gets each opId once; the dead run's pending entries are reclaimed", async () => {
    const N = 50_000;
    const stream = "faults.sqlite-crash";
    const started = Date.now();
    const dir = procs.tempDir("ampd-sqlite-crash-");
    const data = join(dir, "ampd.db");
    const socket = join(dir, "ampd.sock");
    const args = ["--claim-timeout", "1s"];
    const runs: Ampd[] = [];
    const start = async () => {
      const a = await startSqlite(data, { socket, args });
      runs.push(a);
      return a;
    };
    procs.track({ dispose: async () => void (await Promise.all(runs.map((a) => a.dispose()))) });
    let ampd: Ampd = await start();

    const clients: AmpClient[] = [];
    for (const name of ["publisher", "consumer-a", "consumer-b"]) {
      const bus = await connect({ socket, name, reconnect: { deadlineMs: 60_000 } });
      procs.track({ dispose: () => bus.close() });
      clients.push(bus);
    }
    const [publisher, busA, busB] = clients as [AmpClient, AmpClient, AmpClient];
    // The consumer of the dead run that never comes back: no reconnect.
    const busDoomed = await connect({ socket, name: "consumer-doomed", reconnect: false });
    procs.track({ dispose: () => busDoomed.close().catch(() => {}) });
    await publisher.group(stream, "g", { from: "0" }).ensure();

    // ---- the consumers: idempotent (DedupeStore), acking each delivery
    const store = new DedupeStore();
    const errors: Error[] = [];
    const entryOf = new Map<string, string>(); // opId -> entry id of its first delivery
    let secondCopies = 0; // deliveries of an opId under another entry id
    const ackDoneAt = new Map<string, number>();
    const redeliveries: { opId: string; consumer: string; deliveries: number; at: number }[] = [];
    const consume = async (c: GroupConsumer) => {
      try {
        for await (const d of c as AsyncIterable<GroupDelivery>) {
          const opId = d.message.opId;
          const first = entryOf.get(opId);
          if (first === undefined) entryOf.set(opId, d.entryId);
          else if (first !== d.entryId) secondCopies++;
          if (d.deliveries > 1) redeliveries.push({ opId, consumer: c.id, deliveries: d.deliveries, at: Date.now() });
          store.process(d, c.id);
          await d.ack();
          ackDoneAt.set(opId, Date.now());
          store.ackedOk.add(opId);
        }
      } catch (e) {
        errors.push(e as Error);
      }
    };
    const consumers = [
      busA.group(stream, "g").consumer("a", { count: 64, block: 500 }),
      busB.group(stream, "g").consumer("b", { count: 64, block: 500 }),
    ];
    const consuming = consumers.map(consume);

    // ---- the crash: a third consumer takes a batch and never acks it, then SIGKILL, then restart
    let crash: Promise<void> | undefined;
    let ackedAtCrash = 0;
    let killAt = 0;
    let restartedAt = 0;
    let doomedFetchAt = 0;
    let doomedHeld: GroupDelivery[] = [];
    let deadRun: DeadRun | undefined;
    let ackedBeforeKill = new Set<string>();
    let acksDoneBeforeKill = new Set<string>();
    const acked = new Map<string, string>(); // opId -> entry id from the add's reply
    let duplicates = 0;
    let failed = 0;
    const startCrash = () => {
      ackedAtCrash = acked.size;
      crash = (async () => {
        doomedFetchAt = Date.now();
        doomedHeld = await busDoomed.group(stream, "g").consumer("doomed", { count: 100, block: 2000 }).fetch();
        killAt = Date.now();
        await ampd.kill();
        ackedBeforeKill = new Set(acked.keys());
        acksDoneBeforeKill = new Set([...ackDoneAt].filter(([, at]) => at < killAt).map(([op]) => op));
        await busDoomed.close().catch(() => {});
        deadRun = inspectDeadRun(data, dir, stream);
        ampd = await start();
        restartedAt = Date.now();
      })();
    };

    // ---- the publisher: 32 adds in flight; an add counts only once its reply arrived
    let next = 0;
    const publish = async () => {
      while (next < N) {
        const msg = numbered("sc", next++);
        try {
          const r = await publisher.streamAdd(stream, msg);
          if (r.duplicate) duplicates++;
          acked.set(msg.opId, r.entryId);
          if (crash === undefined && acked.size >= N / 3) startCrash();
        } catch (e) {
          failed++;
          errors.push(e as Error);
        }
      }
    };
    await Promise.all(Array.from({ length: 32 }, publish));
    await crash;
    const publishedAt = Date.now();

    await until("the group to process every acknowledged add", () => missing(acked.keys(), store.ackedOk).length === 0 || errors.length > 0, 60_000);
    await until("the group to have nothing pending", async () => (await publisher.group(stream, "g").pending()).length === 0 || errors.length > 0, 30_000);
    for (const c of consumers) await c.return();
    await Promise.all(consuming);
    const doneAt = Date.now();

    // ---- the history after the restart, read from "0" by a fresh client
    const reader = await connect({ socket, name: "history-reader", reconnect: false });
    procs.track({ dispose: () => reader.close() });
    const history = await readAll(reader, stream);
    const historyIds = history.map((d) => d.entryId);
    const historyOps = history.map((d) => d.message.opId);
    const historyOpSet = new Set(historyOps);
    const wrongEntryId = history.filter((d) => acked.has(d.message.opId) && acked.get(d.message.opId) !== d.entryId).length;
    const info = await publisher.info();
    const streamLength = (await publisher.streamInfo(stream)).length;

    const dead = deadRun!;
    const lostInFile = missing(ackedBeforeKill, dead.stored);
    const ackLostByCrash = [...acksDoneBeforeKill].filter((op) => dead.pending.has(op));
    const doomedOps = doomedHeld.map((d) => d.message.opId);
    const reclaimOf = (op: string) => redeliveries.find((r) => r.opId === op && r.at > restartedAt);
    const doomedUnclaimed = doomedOps.filter((op) => reclaimOf(op) === undefined);
    const doomedFirstReclaim = Math.min(...doomedOps.map((op) => reclaimOf(op)?.at ?? Infinity));
    const pendingAtCrashReclaimed = [...dead.pending.keys()].filter((op) => reclaimOf(op) !== undefined).length;
    const lost = missing(acked.keys(), store.processed).length;
    const reconnects = clients.map((c) => (c.port as ReconnectingPort).reconnects);

    printFigures("sqlite-crash", {
      published: N,
      acknowledged: acked.size,
      ackedAtCrash,
      ackedBeforeKill: ackedBeforeKill.size,
      publishFailed: failed,
      publishDuplicates: duplicates,
      delivered: store.deliveries,
      processed: store.processed.size,
      redelivered: store.redelivered,
      dedupeHits: store.dedupeHits,
      dedupeHitsOnFirstDelivery: store.dedupeHitsOnFirstDelivery,
      processedTwice: secondCopies,
      perConsumer: Object.entries(store.perConsumer()).map(([k, v]) => `${k}:${v}`).join("/"),
      deadRunStored: dead.stored.size,
      deadRunPending: dead.pending.size,
      deadRunIntegrity: dead.integrity,
      pendingAtCrashReclaimed,
      doomedHeld: doomedOps.length,
      doomedReclaimedAfterMs: doomedFirstReclaim - doomedFetchAt,
      claimedAfterRestart: Number(info.claimed),
      reconnects: reconnects.join("/"),
      historyLength: history.length,
      streamLength,
      killToReadyMs: restartedAt - killAt,
      publishMs: publishedAt - started,
      totalMs: doneAt - started,
      lostInFile: lostInFile.length,
      ackLostByCrash: ackLostByCrash.length,
      lost,
    });

    expect(errors).toEqual([]);
    expect(failed).toBe(0);
    for (const r of reconnects) expect(r).toBeGreaterThanOrEqual(1);
    // The kill came in the middle of the run, with work in flight.
    expect(ackedBeforeKill.size).toBeGreaterThan(0);
    expect(ackedBeforeKill.size).toBeLessThan(N);

    // The file the kill left: intact, holding every add whose reply had arrived, and no entry
    // whose ack's reply had arrived still pending (acks are on disk before their reply too).
    expect(dead.integrity).toBe("ok");
    expect(lostInFile.slice(0, 10)).toEqual([]);
    expect(ackLostByCrash.slice(0, 10)).toEqual([]);

    // Every acknowledged add reached the group and was processed once.
    expect(lost).toBe(0);
    expect(store.processed.size).toBe(acked.size);
    expect(secondCopies).toBe(0);

    // The doomed consumer's batch, pending in the file, went to a live consumer after the claim
    // timeout, counted from its delivery before the kill (the delivery time is stored).
    expect(doomedOps.length).toBeGreaterThan(0);
    for (const op of doomedOps) expect(dead.pending.has(op)).toBe(true);
    expect(doomedUnclaimed).toEqual([]);
    for (const op of doomedOps) expect(reclaimOf(op)!.deliveries).toBeGreaterThanOrEqual(dead.pending.get(op)! + 1);
    expect(doomedFirstReclaim - doomedFetchAt).toBeGreaterThanOrEqual(CLAIM_TIMEOUT_MS - 5);
    expect(Number(info.claimed)).toBeGreaterThanOrEqual(doomedOps.length);

    // The history: in order, each opId once, each under the id its add's reply gave.
    expect(orderProblem(historyIds)).toBeUndefined();
    expect(history.length).toBe(historyOpSet.size);
    expect(missing(acked.keys(), historyOpSet)).toEqual([]);
    expect(history.length).toBe(N);
    expect(streamLength).toBe(N);
    expect(wrongEntryId).toBe(0);

    // A restart reads the same history again (nothing depends on the process that wrote it).
    await ampd.stop();
    ampd = await start();
    const again = await connect({ socket, name: "history-reader-2", reconnect: false });
    procs.track({ dispose: () => again.close() });
    const history2 = await readAll(again, stream);
    expect(history2.map((d) => d.entryId)).toEqual(historyIds);
  }, 120_000);
});
