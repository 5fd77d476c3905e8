/**
 * `/healthz`, `/readyz` and `/metrics` of a real ampd (`--http`) on the
 * memory backend, the SQLite default and a test-owned redis-server. Every
 * scrape is parsed with parse-prometheus-text-format (a port of the
 * Prometheus client's text parser, output shaped like prom2json's), and the
 * values are checked as traffic flows: adds, duplicates, deliveries, acks,
 * nacks, claims, dead letters, stream lengths, group pending and lag, the
 * round-trip histogram. On Redis, the server is stopped: `/readyz` turns 503
 * with the reason and `/metrics` still answers, then both recover.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { type AmpClient, connect } from "../../mod.ts";
import { Ampd } from "../_helpers/ampd.ts";
import { REDIS_SKIP_REASON, RedisServer } from "../_helpers/redis_server.ts";
import { testMessage } from "./_live.ts";

/** One parsed metric family (prom2json's shape). */
interface Family {
  name: string;
  help: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }[];
}

/** Scrapes `/metrics`, checks the exposition's shape, and returns its families by name. */
async function scrape(http: string): Promise<Map<string, Family>> {
  const res = await fetch(`${http}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  const text = await res.text();
  const families = parsePrometheusTextFormat(text) as Family[];
  const byName = new Map<string, Family>();
  for (const f of families) {
    expect(f.name).toMatch(/^ampbus_[a-z_]+$/);
    expect(byName.has(f.name)).toBe(false); // each family once, its samples together
    expect(["COUNTER", "GAUGE", "HISTOGRAM"]).toContain(f.type); // every family has HELP and TYPE
    expect(f.help.length).toBeGreaterThan(10);
    if (f.type === "COUNTER") expect(f.name.endsWith("_total")).toBe(true);
    byName.set(f.name, f);
  }
  return byName;
}

/** The value of the sample of `name` whose labels include `labels`; undefined when there is none. */
function value(fams: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const f = fams.get(name);
  const m = f?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

type GroupRow = { name: string; pending: number; lag?: number | null };

async function groupInfo(bus: AmpClient, stream: string): Promise<GroupRow[]> {
  // deno-lint-ignore no-explicit-any
  const r = await (bus as any).port.groupInfo(stream);
  return r.groups as GroupRow[];
}

async function until(f: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The traffic and the checks, the same on every backend. */
async function trafficIsCounted(http: string, bus: AmpClient): Promise<void> {
  const before = await scrape(http);
  expect(value(before, "ampbus_adds_total")).toBe(0);
  expect(value(before, "ampbus_duplicates_total")).toBe(0);
  expect(value(before, "ampbus_scrape_backend_ok")).toBe(1);
  expect(value(before, "ampbus_backend_state", { state: "ready" })).toBe(1);
  expect(value(before, "ampbus_connections")).toBe(1); // this test's client

  const first = testMessage(1);
  await bus.streamAdd("tasks", first);
  await bus.streamAdd("tasks", testMessage(2));
  await bus.streamAdd("tasks", testMessage(3));
  const again = await bus.streamAdd("tasks", first); // same opId: a duplicate
  expect(again.duplicate).toBe(true);

  const afterAdds = await scrape(http);
  expect(value(afterAdds, "ampbus_adds_total")).toBe(3);
  expect(value(afterAdds, "ampbus_duplicates_total")).toBe(1);
  expect(value(afterAdds, "ampbus_stream_length", { stream: "tasks" })).toBe(3);
  const [adds] = afterAdds.get("ampbus_backend_add_seconds")!.metrics;
  expect(Number(adds.count)).toBe(4); // the duplicate took a round trip too
  expect(Number(adds.buckets!["+Inf"])).toBe(4);
  const bounds = Object.keys(adds.buckets!).filter((k) => k !== "+Inf").sort((a, b) => Number(a) - Number(b));
  for (let i = 1; i < bounds.length; i++) expect(Number(adds.buckets![bounds[i]])).toBeGreaterThanOrEqual(Number(adds.buckets![bounds[i - 1]]));
  expect(Number(adds.sum)).toBeGreaterThan(0);

  // A group reads one of the three: one pending, two not yet delivered.
  const workers = bus.group("tasks", "workers", { from: "0" });
  const c1 = workers.consumer("c1", { count: 1, block: 100 });
  const [d1] = await c1.fetch();
  expect(d1.message.id).toBe(first.id);
  const afterRead = await scrape(http);
  expect(value(afterRead, "ampbus_deliveries_total")).toBe(1);
  expect(value(afterRead, "ampbus_group_pending", { stream: "tasks", group: "workers" })).toBe(1);
  expect(value(afterRead, "ampbus_group_consumers", { stream: "tasks", group: "workers" })).toBe(1);
  // Lag is what the backend reports (group.info's lag; every ampbus backend does): two entries not yet delivered.
  const [g] = await groupInfo(bus, "tasks");
  expect(g.lag).toBe(2);
  expect(value(afterRead, "ampbus_group_lag", { stream: "tasks", group: "workers" })).toBe(2);

  // ack one; nack the next: with --max-deliveries 1 its next delivery (a claim) sends it to tasks.dlq.
  await d1.ack();
  const [d2] = await c1.fetch();
  await d2.nack();
  await until(async () => value(await scrape(http), "ampbus_nacks_total") === 1, "the nack");
  await c1.fetch(); // claims d2 (delivery 2 > 1): dead-lettered, not delivered
  const afterDlq = await scrape(http);
  expect(value(afterDlq, "ampbus_acks_total")).toBe(1);
  expect(value(afterDlq, "ampbus_claims_total")).toBe(1);
  expect(value(afterDlq, "ampbus_dead_letters_total")).toBe(1);
  expect(value(afterDlq, "ampbus_stream_length", { stream: "tasks.dlq" })).toBe(1);
  const [ackTrips] = afterDlq.get("ampbus_backend_ack_seconds")!.metrics;
  expect(Number(ackTrips.count)).toBeGreaterThanOrEqual(1);
  const [nackTrips] = afterDlq.get("ampbus_backend_nack_seconds")!.metrics;
  expect(Number(nackTrips.count)).toBe(1);

  // What trim removes is counted per stream (StreamInfo.removed), and shown per cause.
  for (let i = 0; i < 5; i++) await bus.streamAdd("trimmed", testMessage(100 + i));
  expect(await bus.trim("trimmed", 2)).toBe(3);
  const afterTrim = await scrape(http);
  expect(value(afterTrim, "ampbus_stream_length", { stream: "trimmed" })).toBe(2);
  expect(value(afterTrim, "ampbus_stream_removed_total", { stream: "trimmed", cause: "trim" })).toBe(3);
  expect(value(afterTrim, "ampbus_stream_removed_total", { stream: "trimmed", cause: "retention" })).toBe(0);
  expect(value(afterTrim, "ampbus_stream_removed_total", { stream: "trimmed", cause: "purge" })).toBe(0);
  expect(value(afterTrim, "ampbus_stream_removed_pending_total", { stream: "trimmed" })).toBe(0);
  expect(value(afterTrim, "ampbus_stream_removed_total", { stream: "tasks", cause: "trim" })).toBe(0);
}

async function healthy(http: string, kind: string): Promise<void> {
  const h = await fetch(`${http}/healthz`);
  expect(h.status).toBe(200);
  expect(h.headers.get("content-type")).toBe("application/json");
  const hb = await h.json();
  expect(hb.status).toBe("live");
  expect(hb.backend).toBe(kind);
  const r = await fetch(`${http}/readyz`);
  expect(r.status).toBe(200);
  const rb = await r.json();
  expect(rb.status).toBe("ready");
  expect(rb.backend).toEqual({ kind, state: "ready" });
  expect(typeof rb.roundTripMs).toBe("number");
}

const FLAGS = ["--http", "127.0.0.1:0", "--max-deliveries", "1", "--claim-timeout", "10ms"];

function httpOf(ampd: Ampd): string {
  const m = /^ampd http (\S+)$/m.exec(ampd.stdout);
  if (!m) throw new Error(`ampd printed no http line:\n${ampd.stdout}\n${ampd.stderr}`);
  return m[1];
}

for (const kind of ["memory", "sqlite"] as const) {
  describe(`/metrics, /healthz, /readyz on ${kind}`, () => {
    let ampd: Ampd;
    let http: string;
    let bus: AmpClient;
    beforeAll(async () => {
      ampd = await Ampd.start({ args: ["--backend", kind, ...FLAGS] });
      http = httpOf(ampd);
      bus = await connect({ socket: ampd.socket, name: "metrics-test" });
    });
    afterAll(async () => {
      await bus?.close();
      await ampd?.dispose();
    });

    test("health and readiness answer JSON", () => healthy(http, kind));
    test("traffic is counted in a scrape Prometheus can parse", () => trafficIsCounted(http, bus), 30_000);
    test("a bad method or path is refused, and HEAD works", async () => {
      expect((await fetch(`${http}/metrics`, { method: "POST" })).status).toBe(405);
      expect((await fetch(`${http}/metricz`)).status).toBe(404);
      expect((await fetch(`${http}/healthz`, { method: "HEAD" })).status).toBe(200);
    });
  });
}

describe("/metrics with --token", () => {
  test("a scrape needs the token (Authorization: Bearer); health probes do not", async () => {
    const ampd = await Ampd.start({ args: ["--backend", "memory", "--http", "127.0.0.1:0", "--token", "s3cret"] });
    try {
      const http = httpOf(ampd);
      expect((await fetch(`${http}/metrics`)).status).toBe(401);
      expect((await fetch(`${http}/metrics`, { headers: { authorization: "Bearer nope" } })).status).toBe(401);
      const ok = await fetch(`${http}/metrics`, { headers: { authorization: "Bearer s3cret" } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain("ampbus_adds_total 0");
      expect((await fetch(`${http}/healthz`)).status).toBe(200);
      expect((await fetch(`${http}/readyz`)).status).toBe(200);
    } finally {
      await ampd.dispose();
    }
  });
});

describe.skipIf(REDIS_SKIP_REASON !== undefined)("/metrics, /healthz, /readyz on redis", () => {
  let redis: RedisServer;
  let ampd: Ampd;
  let http: string;
  let bus: AmpClient;
  beforeAll(async () => {
    redis = await RedisServer.start();
    ampd = await Ampd.start({ args: ["--redis", redis.url, ...FLAGS] });
    http = httpOf(ampd);
    bus = await connect({ socket: ampd.socket, name: "metrics-test" });
  }, 30_000);
  afterAll(async () => {
    await bus?.close();
    await ampd?.dispose();
    await redis?.dispose();
  });

  test("health and readiness answer JSON", () => healthy(http, "redis"));
  test("traffic is counted in a scrape Prometheus can parse", () => trafficIsCounted(http, bus), 30_000);
  test("with Redis down, /readyz is 503 naming why and /metrics still answers; both recover", async () => {
    await redis.stop();
    await until(async () => (await fetch(`${http}/readyz`)).status === 503, "/readyz 503");
    const body = await (await fetch(`${http}/readyz`)).json();
    expect(body.status).toBe("not ready");
    expect(body.backend.kind).toBe("redis");
    expect(body.backend.state).not.toBe("ready");
    expect(body.reasons.join("; ")).toContain("backend redis");
    expect((await fetch(`${http}/healthz`)).status).toBe(200); // alive all the same
    const down = await scrape(http);
    expect(value(down, "ampbus_scrape_backend_ok")).toBe(0);
    expect(value(down, "ampbus_backend_state", { state: "ready" })).toBe(0);
    expect(value(down, "ampbus_adds_total")).toBe(8); // counters survive the outage
    expect(down.has("ampbus_stream_length")).toBe(false); // not reported rather than reported wrong
    await redis.restart();
    await until(async () => (await fetch(`${http}/readyz`)).status === 200, "/readyz 200 again", 20_000);
    const up = await scrape(http);
    expect(value(up, "ampbus_scrape_backend_ok")).toBe(1);
    expect(value(up, "ampbus_backend_reconnects_total")).toBeGreaterThanOrEqual(1);
  }, 60_000);
});

describe("/readyz on a degraded store", () => {
  test("a SQLite store at its --max-size: /readyz is 503 naming STORAGE_FULL, /healthz stays 200, /metrics shows the state", async () => {
    const ampd = await Ampd.start({ args: ["--backend", "sqlite", "--max-size", "1MiB", "--http", "127.0.0.1:0"] });
    try {
      const http = httpOf(ampd);
      const bus = await connect({ socket: ampd.socket, name: "filler", reconnect: false });
      let code: string | undefined;
      for (let i = 0; i < 100 && code === undefined; i++) {
        await bus.streamAdd("fill", testMessage(i, { payload: { blob: "x".repeat(60_000) } })).catch((e) => (code = e.code));
      }
      await bus.close();
      expect(code).toBe("STORAGE_FULL");
      const r = await fetch(`${http}/readyz`);
      expect(r.status).toBe(503);
      const body = await r.json();
      expect(body.backend).toMatchObject({ kind: "sqlite", state: "degraded", degraded: "STORAGE_FULL" });
      expect(body.reasons[0]).toContain("backend sqlite is degraded (STORAGE_FULL)");
      expect((await fetch(`${http}/healthz`)).status).toBe(200);
      const fams = await scrape(http);
      expect(value(fams, "ampbus_backend_state", { state: "degraded" })).toBe(1);
      expect(value(fams, "ampbus_backend_state", { state: "ready" })).toBe(0);
      expect(value(fams, "ampbus_stream_length", { stream: "fill" })).toBeGreaterThan(0); // reads go on
    } finally {
      await ampd.dispose();
    }
  }, 60_000);
});
