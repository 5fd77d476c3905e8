/**
 * The commands of the compiled binary (`ampd pub|tail|stats|groups|pending|dlq|keygen|bench`)
 * against a running ampd: help, exit codes, and stable --json output.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { Ampd, buildAmpd, runAmpd } from "../_helpers/ampd.ts";
import { connect } from "../../sdk/client/connect.ts";
import { createMessage } from "../../sdk/envelope/builder.ts";
import type { AmpClient } from "../../sdk/client/client.ts";

const COMMANDS = ["pub", "tail", "req", "reply", "stats", "stream", "groups", "pending", "ack", "claim", "dlq", "keygen", "bench", "completion"];
/** A spec that grades gold (docs/grading.md): a message may claim gold or any lower tier with it. */
const GOLD_SPEC = { preconditions: ["∀f ∈ F: compiles(f)"], task: "test F", postconditions: ["∀t ∈ T: passes(t)"] };

/** Runs `ampd <args>` with stdin; resolves with code and output. */
async function run(args: string[], options: { socket?: string; input?: string; timeoutMs?: number } = {}) {
  const bin = await buildAmpd();
  const env = { ...process.env, AMPD_SOCKET: options.socket ?? "", AMPD_TOKEN: "" };
  const child = spawn(bin, args, { env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(options.input ?? "");
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 15_000);
  const code = await new Promise<number | null>((r) => child.once("close", r));
  clearTimeout(timer);
  return { code, stdout, stderr, lines: stdout.split("\n").filter((l) => l !== "") };
}

describe("ampd commands: usage", () => {
  test("ampd --help lists every command", async () => {
    const r = await runAmpd(["--help"]);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toContain(`ampd ${c} `);
  }, 30_000);

  for (const c of COMMANDS) {
    test(`ampd ${c} --help shows usage, examples and exit codes`, async () => {
      const r = await run([c, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`ampd ${c}`);
      expect(r.stdout).toContain("Examples:");
      expect(r.stdout).toContain("Exit codes: 0 ok");
    }, 30_000);

    test(`ampd ${c} with a bad flag exits 2 and names it`, async () => {
      const r = await run(c === "stream" ? [c, "ls", "--nope"] : [c, "--nope"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`ampd ${c}: unknown flag --nope`);
      expect(r.stderr).toContain(`Run 'ampd ${c} --help' for usage.`);
    }, 30_000);
  }

  test("usage mistakes name what was wrong (exit 2)", async () => {
    const cases: [string[], string][] = [
      [["tail"], "missing STREAM"],
      [["tail", "s", "--from", "later"], "--from must be"],
      [["pub", "--type", "t"], "--receiver is required"],
      [["pub", "--type", "t", "--receiver", "r", "--payload", "{"], "--payload is not valid JSON"],
      [["pub", "--type", "t", "--receiver", "r", "--tier", "tin"], "tier"],
      [["pub", "--type", "t", "--receiver", "r", "--spec", "{"], "--spec is not valid JSON"],
      [["pending", "s"], "missing GROUP"],
      [["dlq", "replay", "s"], "needs either --id"],
      [["bench", "--messages", "0"], "--messages must be from 1"],
      [["stats", "extra"], "unexpected argument"],
    ];
    for (const [args, text] of cases) {
      const r = await run(args, { socket: "/nonexistent/ampd.sock" });
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(text);
    }
  }, 30_000);

  test("ampd unreachable is exit 1 naming the socket", async () => {
    const r = await run(["stats", "--socket", "/nonexistent/ampd.sock"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot reach ampd at /nonexistent/ampd.sock");
  }, 30_000);
});

describe("ampd commands against a running ampd", () => {
  let ampd: Ampd;
  let bus: AmpClient;
  beforeAll(async () => {
    ampd = await Ampd.start({ args: ["--claim-timeout", "50ms", "--max-deliveries", "1"] }); // the default store: sqlite
    bus = await connect({ socket: ampd.socket, name: "cli-test", reconnect: false });
  }, 30_000);
  afterAll(async () => {
    await bus?.close();
    await ampd?.dispose();
  }, 30_000);

  test("pub from flags, then tail --json shows it (stable shape)", async () => {
    const p = await run(["pub", "--type", "task", "--sender", "planner", "--receiver", "coder", "--payload", '{"file":"a.ts","raw":{"$bin":"AAE="}}', "--spec", JSON.stringify(GOLD_SPEC), "--tier", "gold", "--conversation-id", "c-1", "--json"], { socket: ampd.socket });
    expect(p.stderr).toBe("");
    expect(p.code).toBe(0);
    const pub = JSON.parse(p.lines[0]);
    expect(Object.keys(pub)).toEqual(["stream", "entryId", "duplicate", "id"]);
    expect(pub.stream).toBe("inbox.coder");
    const t = await run(["tail", "inbox.coder", "--from", "0", "--count", "1", "--json"], { socket: ampd.socket });
    expect(t.code).toBe(0);
    const line = JSON.parse(t.lines[0]);
    expect(Object.keys(line)).toEqual(["stream", "entryId", "message"]);
    expect(line.entryId).toBe(pub.entryId);
    expect(line.message).toMatchObject({ v: 1, id: pub.id, type: "task", sender: "planner", receiver: "coder", tier: "gold", spec: GOLD_SPEC, conversationId: "c-1", payload: { file: "a.ts", raw: { $bin: "AAE=" } } });
    const pretty = await run(["tail", "inbox.coder", "--from", "0", "--count", "1"], { socket: ampd.socket });
    expect(pretty.lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} inbox\.coder \d+-\d+ task planner -> coder \[gold\] \{"file":"a\.ts","raw":"<2 bytes>"\}$/);
  }, 30_000);

  test("pub reads JSON lines from stdin: duplicates reported, bad lines named, exit 1", async () => {
    const input = [
      JSON.stringify({ type: "t", sender: "a", receiver: "b", opId: "same" }),
      JSON.stringify({ type: "t", sender: "a", receiver: "b", opId: "same" }),
      "not json",
      JSON.stringify({ type: "t", sender: "a" }),
      JSON.stringify({ type: "t", sender: "a", receiver: "broadcast" }),
    ].join("\n");
    const r = await run(["pub", "--json"], { socket: ampd.socket, input });
    expect(r.code).toBe(1);
    const out = r.lines.map((l) => JSON.parse(l));
    expect(out.map((o) => [o.stream, o.duplicate])).toEqual([["inbox.b", false], ["inbox.b", true], ["broadcast", false]]);
    expect(out[1].entryId).toBe(out[0].entryId);
    expect(r.stderr).toContain("line 3: not JSON");
    expect(r.stderr).toContain("line 4: invalid message");
    expect(r.stderr).toContain("receiver");
  }, 30_000);

  test("tail filters by sender, receiver, type prefix and tier, and follows new messages", async () => {
    const tail = run(["tail", "filtered", "--type", "job.*", "--sender", "s1", "--tier", "gold", "--count", "2", "--json"], { socket: ampd.socket });
    // The tail subscribes at the end: wait until ampd counts its subscription.
    while (((await bus.info()).subscriptions as number) < 1) await new Promise((r) => setTimeout(r, 20));
    const spec = GOLD_SPEC;
    const add = (type: string, sender: string, tier: "gold" | "silver") => bus.streamAdd("filtered", createMessage({ type, sender, receiver: "w", spec, tier }));
    const a = await add("job.a", "s1", "gold");
    await add("job.b", "s2", "gold");
    await add("other", "s1", "gold");
    await add("job.c", "s1", "silver");
    const b = await add("job.d", "s1", "gold");
    const r = await tail;
    expect(r.code).toBe(0);
    expect(r.lines.map((l) => JSON.parse(l).entryId)).toEqual([a.entryId, b.entryId]);
  }, 30_000);

  test("stats --json: streams, lengths, groups, pending, dedupe hits, backend, rates", async () => {
    await bus.streamAdd("stats.s", createMessage({ type: "t", sender: "a", receiver: "b", opId: "st-1" }));
    await bus.streamAdd("stats.s", createMessage({ type: "t", sender: "a", receiver: "b", opId: "st-1" }));
    const r = await run(["stats", "--json", "--interval", "50ms"], { socket: ampd.socket });
    expect(r.code).toBe(0);
    const s = JSON.parse(r.lines[0]);
    expect(Object.keys(s)).toEqual(["server", "totals", "rates", "streams"]);
    expect(s.server.backend).toEqual({ kind: "sqlite", state: "ready", reconnects: 0, path: join(ampd.dir, "ampd.db") });
    expect(Object.keys(s.totals)).toEqual(["streams", "entries", "groups", "pending", "lag", "removed", "deadLetters", "dedupeHits", "duplicates", "added", "pushed", "claimed", "deadLettered", "expiredDropped", "connections", "subscriptions"]);
    expect(Object.keys(s.rates)).toEqual(["intervalMs", "addedPerSec", "pushedPerSec", "requestsPerSec"]);
    expect(s.totals.dedupeHits).toBeGreaterThanOrEqual(1);
    const row = s.streams.find((x: { stream: string }) => x.stream === "stats.s");
    expect(row).toMatchObject({ stream: "stats.s", length: 1, groups: 0, pending: 0, deadLetters: 0 });
    expect(s.totals.streams).toBe(s.streams.length);
    const pretty = await run(["stats", "--interval", "0", "--stream", "stats.s"], { socket: ampd.socket });
    expect(pretty.stdout).toContain(`backend sqlite ${join(ampd.dir, "ampd.db")} (ready)`);
    expect(pretty.stdout).toMatch(/stats\.s\s+1\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+\d+-\d+/);
  }, 30_000);

  test("groups, pending, dlq and dlq replay", async () => {
    const msgs = [0, 1, 2].map((i) => createMessage({ type: "job", sender: "p", receiver: "w", payload: { i } }));
    for (const m of msgs) await bus.streamAdd("jobs", m);
    await bus.port.groupCreate({ stream: "jobs", group: "workers" }, "0");
    expect(await bus.port.groupRead({ stream: "jobs", group: "workers", consumer: "w1" }, { count: 2 })).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 120));
    // The two stale entries pass maxDeliveries (1) and move to jobs.dlq; the third goes to w2.
    expect(await bus.port.groupRead({ stream: "jobs", group: "workers", consumer: "w2" }, { count: 10 })).toHaveLength(1);

    const g = JSON.parse((await run(["groups", "jobs", "--json"], { socket: ampd.socket })).lines[0]);
    expect(g).toMatchObject({ stream: "jobs", deadLetterStream: "jobs.dlq" });
    expect(g.groups).toHaveLength(1);
    expect(Object.keys(g.groups[0])).toEqual(["name", "pending", "lag", "lastDeliveredId", "consumers"]);
    expect(g.groups[0]).toMatchObject({ name: "workers", pending: 1 });

    const p = JSON.parse((await run(["pending", "jobs", "workers", "--json"], { socket: ampd.socket })).lines[0]);
    expect(p.pending).toHaveLength(1);
    expect(Object.keys(p.pending[0])).toEqual(["entryId", "consumer", "idleMs", "deliveries"]);
    expect(p.pending[0]).toMatchObject({ consumer: "w2", deliveries: 1 });
    expect((await run(["pending", "jobs", "workers", "--consumer", "w1", "--json"], { socket: ampd.socket })).lines[0]).toBe(JSON.stringify({ stream: "jobs", group: "workers", pending: [] }));

    const d = await run(["dlq", "jobs", "--json"], { socket: ampd.socket });
    expect(d.code).toBe(0);
    const letters = d.lines.map((l) => JSON.parse(l));
    expect(letters).toHaveLength(2);
    expect(Object.keys(letters[0])).toEqual(["dlqEntryId", "stream", "entryId", "group", "consumer", "deliveries", "reason", "message"]);
    expect(letters.map((l) => l.message.id)).toEqual([msgs[0].id, msgs[1].id]);

    const one = await run(["dlq", "replay", "jobs", "--id", letters[0].dlqEntryId, "--json"], { socket: ampd.socket });
    expect(one.code).toBe(0);
    const replayed = JSON.parse(one.lines[0]);
    expect(replayed).toMatchObject({ dlqEntryId: letters[0].dlqEntryId, stream: "jobs", duplicate: false });
    const again = JSON.parse((await run(["dlq", "replay", "jobs", "--id", letters[0].dlqEntryId, "--json"], { socket: ampd.socket })).lines[0]);
    expect(again).toEqual({ ...replayed, duplicate: true });
    const back = await bus.port.groupRead({ stream: "jobs", group: "workers", consumer: "w3" }, { count: 10 });
    expect(back.map((e) => e[0])).toEqual([replayed.entryId]);

    const missing = await run(["dlq", "replay", "jobs", "--id", "1-1"], { socket: ampd.socket });
    expect(missing.code).toBe(1); // not found, not bad usage
    expect(missing.stderr).toContain("no dead letter 1-1 in jobs.dlq");
  }, 30_000);

  test("bench --json publishes and consumes, with percentiles", async () => {
    const r = await run(["bench", "--messages", "300", "--publishers", "2", "--inflight", "4", "--size", "64", "--json"], { socket: ampd.socket, timeoutMs: 30_000 });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const b = JSON.parse(r.lines[0]);
    expect(Object.keys(b)).toEqual(["stream", "messages", "size", "publishers", "inflight", "elapsedMs", "publish", "consume"]);
    expect(b).toMatchObject({ messages: 300, size: 64, publishers: 2, inflight: 4 });
    expect(b.consume.received).toBe(300);
    for (const l of [b.publish.latencyMs, b.consume.latencyMs]) {
      expect(Object.keys(l)).toEqual(["p50", "p90", "p99", "max"]);
      expect(l.p50).toBeLessThanOrEqual(l.p99);
      expect(l.p99).toBeLessThanOrEqual(l.max);
    }
    const listed = await (bus.port as unknown as { request(op: string, a: object): Promise<{ streams: string[] }> }).request("streams", {});
    expect(listed.streams).not.toContain(b.stream); // deleted afterwards, with its dedupe keys
  }, 40_000);
});
