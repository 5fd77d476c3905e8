/**
 * ampd --http against the compiled binary: the page and the SDK bundle are
 * served, /ws/mirror mirrors adds (filters, token, duplicates not mirrored),
 * /ws/bus speaks the sidecar protocol, and `connect({url})` works over it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "../../mod.ts";
import { runAmpd } from "../_helpers/ampd.ts";
import type { Ampd } from "../_helpers/ampd.ts";
import { startLive, testMessage, Watcher } from "./_live.ts";

const TOKEN = "s3cret-token";

describe("ampd --http with --token", () => {
  let ampd: Ampd;
  let http: string;
  let ws: string;
  beforeAll(async () => {
    ({ ampd, http } = await startLive(["--token", TOKEN]));
    ws = http.replace(/^http/, "ws");
  });
  afterAll(async () => {
    expect(await ampd.stop()).toBe(0);
    await ampd.dispose();
  });

  test("serves the page and the SDK bundle", async () => {
    const page = await fetch(`${http}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    expect(html).toContain("<title>ampbus live</title>");
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/); // self-contained
    // Scripts and connections from ampd only; workers from blob: URLs (the SDK's compression polyfill makes its worker so).
    const csp = (page.headers.get("content-security-policy") ?? "").split(";").map((d) => d.trim());
    expect(csp).toEqual(["default-src 'none'", "script-src 'self' 'unsafe-inline'", "worker-src blob:", "style-src 'unsafe-inline'", "connect-src 'self'", "img-src data:"]);
    const js = await fetch(`${http}/ampbus.js`);
    expect(js.headers.get("content-type")).toContain("javascript");
    expect(await js.text()).toMatch(/webSocketTransport/);
    expect((await fetch(`${http}/nope`)).status).toBe(404);
  });

  test("/ws/mirror refuses a missing or wrong token (401) and accepts ?token= or a Bearer header", async () => {
    expect((await fetch(`${http}/ws/mirror`, { headers: { upgrade: "websocket" } })).status).toBe(401);
    const wrong = new Watcher(`${ws}/ws/mirror?token=nope`);
    await expect(wrong.ready()).rejects.toThrow();
    const byQuery = await new Watcher(`${ws}/ws/mirror?token=${TOKEN}`).ready();
    // Bun's WebSocket client can send headers (browsers cannot, hence ?token=).
    const h = new WebSocket(`${ws}/ws/mirror`, { headers: { authorization: `Bearer ${TOKEN}` } } as unknown as string[]);
    const opened = await new Promise<boolean>((r) => {
      h.onopen = () => r(true);
      h.onerror = () => r(false);
    });
    expect(opened).toBe(true);
    h.close();
    byQuery.close();
  });

  test("mirrors each stored add once, with server-side filters from the query and from a filter message", async () => {
    const all = await new Watcher(`${ws}/ws/mirror?token=${TOKEN}`).ready();
    const gold = await new Watcher(`${ws}/ws/mirror?token=${TOKEN}&tier=gold&stream=inbox.*`).ready();
    expect(gold.frames[0]).toEqual({ filter: { stream: ["inbox.*"], tier: ["gold"] } });
    const bus = await connect({ socket: ampd.socket, token: TOKEN, name: "pub" });
    // A spec that grades gold (ampd re-grades every spec: a claim may not be better than the grade).
    const spec = { preconditions: ["∀f ∈ Src: compiled(f) = ⊤"], task: "review the patch", postconditions: ["∀t ∈ Tests: passed(t) = ⊤"] };
    const m1 = testMessage(1, { spec, tier: "gold", receiver: "reviewer" });
    const m2 = testMessage(2, { spec, tier: "silver" });
    const m3 = testMessage(3, { spec, tier: "gold" });
    const r1 = await bus.send(m1); // inbox.reviewer
    await bus.send(m2);
    await bus.streamAdd("tasks", m3); // gold, but not an inbox
    expect((await bus.send(m1)).duplicate).toBe(true); // not mirrored again
    await all.waitFor((f) => f.message !== undefined, 3);
    await new Promise((r) => setTimeout(r, 50));
    expect(all.messages.map((f) => f.message!.id)).toEqual([m1.id, m2.id, m3.id]);
    expect(gold.messages.map((f) => f.message!.id)).toEqual([m1.id]);
    const f = all.messages[0];
    expect(f.stream).toBe("inbox.reviewer");
    expect(f.entryId).toBe(r1.entryId);
    expect(f.message!.spec!.task).toBe("review the patch");

    // Change the filter on the open socket.
    gold.ws.send(JSON.stringify({ filter: { sender: "planner", type: ["plan*"] } }));
    await gold.waitFor((x) => JSON.stringify(x.filter) === JSON.stringify({ sender: ["planner"], type: ["plan*"] }));
    gold.ws.send(JSON.stringify({ filter: { colour: "red" } }));
    const [err] = await gold.waitFor((x) => x.error !== undefined);
    expect(err.error!.code).toBe("BAD_FILTER");
    const m4 = testMessage(4, { sender: "planner", type: "plan.step" });
    await bus.send(m4);
    await bus.send(testMessage(5, { sender: "planner", type: "task" }));
    await all.waitFor((x) => x.message !== undefined, 5);
    await new Promise((r) => setTimeout(r, 50));
    expect(gold.messages.map((x) => x.message!.id)).toEqual([m1.id, m4.id]);
    await bus.close();
    all.close();
    gold.close();
  });

  test("connect({url}) speaks the protocol over /ws/bus: publish there, a socket client receives it, and back", async () => {
    await expect(connect({ url: `${ws}/ws/bus`, name: "no-token", reconnect: false })).rejects.toThrow(/token/);
    const web = await connect({ url: ws, token: TOKEN, name: "web-client", reconnect: false }); // "/ws/bus" is the default path
    const sock = await connect({ socket: ampd.socket, token: TOKEN, name: "socket-client" });
    const fromWeb = sock.streamIter("ws.test", { from: "$" });
    const fromSock = web.streamIter("ws.back", { from: "$" });
    await new Promise((r) => setTimeout(r, 50)); // both subscriptions open
    const big = testMessage(6, { payload: { blob: new Uint8Array(600_000).fill(7) } }); // spans several WebSocket messages
    const sent = await web.streamAdd("ws.test", big);
    const got = (await fromWeb.next()).value!;
    expect(got.entryId).toBe(sent.entryId);
    expect(got.message.id).toBe(big.id);
    expect((got.message.payload as { blob: Uint8Array }).blob.length).toBe(600_000);
    const back = testMessage(7);
    await sock.streamAdd("ws.back", back);
    expect((await fromSock.next()).value!.message.id).toBe(back.id);
    expect(typeof (await web.ping())).toBe("number");
    const info = await web.info();
    expect(info.connections).toBeGreaterThanOrEqual(2);
    await fromWeb.return?.();
    await fromSock.return?.();
    await web.close();
    await sock.close();
  });

  test("/ws/bus closes a text message with 1003", async () => {
    const s = new WebSocket(`${ws}/ws/bus`);
    await new Promise((r) => (s.onopen = r));
    const code = await new Promise<number>((r) => {
      s.onclose = (e) => r(e.code);
      s.send("hello");
    });
    expect(code).toBe(1003);
  });
});

describe("ampd --http without a token", () => {
  let ampd: Ampd;
  let http: string;
  beforeAll(async () => {
    ({ ampd, http } = await startLive());
  });
  afterAll(async () => {
    await ampd.dispose();
  });

  test("WebSockets from another origin are refused (403); from ampd's own page, allowed", async () => {
    const ws = http.replace(/^http/, "ws");
    const open = (origin: string) =>
      new Promise<boolean>((r) => {
        const s = new WebSocket(`${ws}/ws/mirror`, { headers: { origin } } as unknown as string[]);
        s.onopen = () => {
          s.close();
          r(true);
        };
        s.onerror = () => r(false);
      });
    expect(await open("http://evil.example")).toBe(false);
    expect(await open(http)).toBe(true);
    const r = await fetch(`${http}/ws/mirror`, { headers: { origin: "http://evil.example", upgrade: "websocket" } });
    expect(r.status).toBe(403);
    expect(await r.text()).toContain("--http-allow-origin");
  });

  test("a bad filter in the query is a 400 naming the field", async () => {
    const r = await fetch(`${http}/ws/mirror?stream=${"x".repeat(300)}`, { headers: { upgrade: "websocket" } });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain("stream[0]");
  });
});

test("--http refuses a malformed address (exit 2) and warns on a non-loopback one", async () => {
  const bad = await runAmpd(["--http", "localhost:99999"]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("--http must be HOST:PORT");
  const { ampd } = await startLive(["--http", "0.0.0.0:0"]);
  try {
    expect(ampd.stderr).toMatch(/WARN .*0\.0\.0\.0 is reachable from other machines/);
  } finally {
    await ampd.dispose();
  }
});
