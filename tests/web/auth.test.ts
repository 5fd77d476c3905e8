/**
 * ampd --http --keyring against the compiled binary: /ws/mirror is for admin
 * agents (a nonce, a proof, one try per connection; non-admins, bad or
 * replayed proofs refused; watchers of agents a reload removed or changed
 * closed with AUTH_REVOKED), and /ws/bus requires hello + auth as the socket
 * does, so connect({url, agent, key}) works and nothing else does.
 */
import { decode } from "@msgpack/msgpack";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AmpClient, connect, proveAuth, toBase64 } from "../../mod.ts";
import type { Ampd } from "../_helpers/ampd.ts";
import { requestFrame } from "../_helpers/raw_conn.ts";
import { makeAgent, startLive, type TestAgent, testMessage, Watcher, writeKeyring } from "./_live.ts";
import { refusal } from "../_helpers/refusal.ts";

/** A raw /ws/bus client: binary messages of protocol frames, decoded with @msgpack/msgpack. */
class RawWs {
  readonly frames: Record<string, unknown>[] = [];
  readonly ws: WebSocket;
  readonly closed: Promise<number>;
  readonly #opened: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    this.ws.onmessage = (e) => {
      const b = new Uint8Array(e.data as ArrayBuffer);
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let pos = 0; pos + 4 <= b.length;) {
        const len = v.getUint32(pos);
        this.frames.push(decode(b.subarray(pos + 4, pos + 4 + len)) as Record<string, unknown>);
        pos += 4 + len;
      }
    };
    this.#opened = new Promise((resolve) => (this.ws.onopen = () => resolve()));
    this.closed = new Promise((resolve) => (this.ws.onclose = (e) => resolve(e.code)));
  }

  async call(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    await this.#opened;
    this.ws.send(requestFrame(req));
    const deadline = Date.now() + 5000;
    for (;;) {
      const f = this.frames.find((x) => x.rid === req.rid);
      if (f !== undefined) return f;
      if (Date.now() > deadline) throw new Error(`no reply to ${JSON.stringify(req)}; got ${JSON.stringify(this.frames)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

describe("ampd --http --keyring", () => {
  let ampd: Ampd;
  let ws: string;
  let dir: string;
  let keyringPath: string;
  let ops: TestAgent, viewer: TestAgent, coder: TestAgent, planner: TestAgent;
  let bus: AmpClient;
  const rules: Record<string, Record<string, unknown>> = {
    ops: { subscribe: [">"], admin: true },
    viewer: { admin: true },
    coder: { publish: ["reply.*"] },
    planner: { publish: ["inbox.*", "tasks.>"], subscribe: ["tasks.>"] },
  };
  const mirror = (query = "") => new Watcher(`${ws}/ws/mirror${query}`);

  beforeAll(async () => {
    [ops, viewer, coder, planner] = await Promise.all([makeAgent("ops"), makeAgent("viewer", "hmac-sha256"), makeAgent("coder", "hmac-sha256"), makeAgent("planner")]);
    dir = mkdtempSync(join(tmpdir(), "ampd-web-keyring-"));
    keyringPath = join(dir, "keyring.json");
    writeKeyring(keyringPath, [ops, viewer, coder, planner], rules);
    let http: string;
    ({ ampd, http } = await startLive(["--keyring", keyringPath, "--hello-timeout", "1s"]));
    ws = http.replace(/^http/, "ws");
    bus = await connect({ socket: ampd.socket, agent: "planner", key: planner.key, reconnect: false });
  }, 20_000);

  afterAll(async () => {
    await bus?.close();
    await ampd?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test("/ws/mirror without auth: a nonce, no messages, and anything but an auth answer is AUTH_REQUIRED, then the socket closes", async () => {
    const w = mirror();
    const nonce = await w.nonce();
    expect(nonce.length).toBe(32);
    expect(w.frames).toEqual([{ auth: { nonce: expect.any(String) } }]); // no {filter} greeting before auth
    await bus.send(testMessage(1, { sender: "planner", receiver: "coder" }));
    await new Promise((r) => setTimeout(r, 100));
    expect(w.messages).toEqual([]);
    w.send({ filter: {} });
    const r = await w.refused();
    expect(r.code).toBe("AUTH_REQUIRED");
    expect(r.message).toContain('{"auth": {"agent": NAME, "kid": KID, "proof": BASE64}}');
    expect(r.close).toBe(1008);
    expect(w.messages).toEqual([]);
    const other = mirror();
    expect(await other.nonce()).not.toEqual(nonce); // a new nonce on every connection
    other.close();
  });

  test("/ws/mirror: no answer within --hello-timeout is HELLO_TIMEOUT", async () => {
    const w = mirror();
    await w.nonce();
    const t0 = Date.now();
    const r = await w.refused();
    expect(r.code).toBe("HELLO_TIMEOUT");
    expect(r.close).toBe(1008);
    expect(Date.now() - t0).toBeGreaterThan(700);
  });

  test("/ws/mirror: a non-admin agent with a good proof is FORBIDDEN; bad proofs, unknown agents and kids are AUTH_FAILED", async () => {
    const notAdmin = mirror();
    await notAdmin.answer("coder", coder.key);
    const r = await notAdmin.refused();
    expect(r).toMatchObject({ code: "FORBIDDEN", close: 1008 });
    expect(r.message).toContain('agent coder is not an admin: only an agent with "admin": true in the keyring may watch the live view');

    const cases: [string, (w: Watcher) => Promise<unknown>, string][] = [
      ["an admin's kid with another key's proof", (w) => w.answer("ops", coder.key, "ops-1"), 'cannot authenticate as ops with key "ops-1": the keyring has no such agent or key of it, or the proof is not its signature'],
      ["another agent's kid", (w) => w.answer("ops", viewer.key), 'cannot authenticate as ops with key "viewer-1": the keyring has no such agent or key of it'],
      ["an unknown agent", (w) => w.answer("root", ops.key), 'cannot authenticate as root with key "ops-1": the keyring has no such agent or key of it'],
      ["an unknown kid", (w) => w.answer("ops", ops.key, "ops-9"), 'cannot authenticate as ops with key "ops-9": the keyring has no such agent or key of it'],
      ["a proof that is not base64", async (w) => (await w.nonce(), w.send({ auth: { agent: "ops", kid: "ops-1", proof: "%%%" } })), "proof (base64)"],
      ["no kid", async (w) => (await w.nonce(), w.send({ auth: { agent: "ops", proof: "AAAA" } })), "auth needs agent and kid"],
      ["not JSON", async (w) => (await w.nonce(), w.ws.send("{auth")), "the first message must be"],
    ];
    for (const [what, act, message] of cases) {
      const w = mirror();
      await act(w);
      const got = await w.refused();
      expect({ what, code: got.code, close: got.close }).toEqual({ what, code: message.startsWith("the first") ? "AUTH_REQUIRED" : "AUTH_FAILED", close: 1008 });
      expect(got.message).toContain(message);
    }
    await bus.send(testMessage(2, { sender: "planner", receiver: "coder" }));
    expect(ampd.stderr).toContain("live view: the proof does not verify");
  });

  test("/ws/mirror: a proof is good on its own connection only; replayed on another, AUTH_FAILED", async () => {
    const a = mirror();
    const sent = await a.answer("ops", ops.key);
    await a.waitFor((f) => f.filter !== undefined);
    expect(a.frames.find((f) => f.authenticated)).toEqual({ authenticated: { agent: "ops", kid: "ops-1" } });
    const b = mirror();
    await b.nonce();
    b.send(sent); // a captured, good proof
    const r = await b.refused();
    expect(r.code).toBe("AUTH_FAILED");
    expect(r.message).toContain("or the proof is not its signature of this connection's auth bytes");
    // One try: after a wrong answer, a right one on the same connection is never read.
    const c = mirror();
    const proof = await proveAuth(ops.key, { agent: "ops", nonce: await c.nonce() });
    c.send({ auth: { agent: "ops", kid: "ops-1", proof: "AAAA" } });
    c.send({ auth: { agent: "ops", kid: "ops-1", proof: toBase64(proof) } });
    expect((await c.refused()).code).toBe("AUTH_FAILED");
    expect(c.frames.some((f) => f.authenticated !== undefined || f.filter !== undefined)).toBe(false);
    // a still watches.
    const m = testMessage(3, { sender: "planner", receiver: "coder" });
    await bus.send(m);
    await a.waitFor((f) => f.message?.id === m.id);
    a.close();
  });

  test("/ws/mirror: admins (Ed25519 and HMAC) see the added messages, filtered by the query and by filter messages", async () => {
    const all = await mirror().login("ops", ops.key);
    const tasks = await mirror("?stream=tasks.*").login("viewer", viewer.key);
    expect(tasks.frames.filter((f) => f.filter !== undefined)).toEqual([{ filter: { stream: ["tasks.*"] } }]);
    const m1 = testMessage(10, { sender: "planner", receiver: "coder" });
    const m2 = testMessage(11, { sender: "planner", receiver: "coder" });
    await bus.send(m1);
    await bus.streamAdd("tasks.build", m2);
    await all.waitFor((f) => f.message !== undefined, 2);
    await tasks.waitFor((f) => f.message !== undefined, 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(all.messages.map((f) => [f.stream, f.message!.id])).toEqual([["inbox.coder", m1.id], ["tasks.build", m2.id]]);
    expect(tasks.messages.map((f) => f.message!.id)).toEqual([m2.id]);
    // After auth, filter messages work as without a keyring; a second auth is not a filter.
    tasks.send({ filter: { stream: "inbox.*" } });
    await tasks.waitFor((f) => JSON.stringify(f.filter) === JSON.stringify({ stream: ["inbox.*"] }));
    tasks.send({ auth: { agent: "ops", kid: "ops-1", proof: "AAAA" } });
    expect((await tasks.waitFor((f) => f.error !== undefined))[0].error!.code).toBe("BAD_REQUEST");
    const m3 = testMessage(12, { sender: "planner", receiver: "coder" });
    await bus.send(m3);
    await tasks.waitFor((f) => f.message?.id === m3.id);
    all.close();
    tasks.close();
  });

  test("/ws/bus: hello without agent is AUTH_FAILED, ops before auth are AUTH_REQUIRED, and connect({url, agent, key}) works with the agent's permissions", async () => {
    expect((await refusal(connect({ url: ws, name: "anonymous", reconnect: false }))).code).toBe("AUTH_FAILED");
    expect((await refusal(connect({ url: ws, agent: "planner", reconnect: false }))).code).toBe("AUTH_REQUIRED"); // no key

    const raw = new RawWs(`${ws}/ws/bus`);
    const hello = await raw.call({ op: "hello", rid: 1, version: 1, client: "raw-ws", agent: "planner" });
    expect(hello.ok).toBe(true);
    expect((hello.nonce as Uint8Array).length).toBe(32);
    const early = await raw.call({ op: "streams", rid: 2 });
    expect((early.error as { code: string }).code).toBe("AUTH_REQUIRED");
    expect((await raw.call({ op: "ping", rid: 3 })).ok).toBe(true);
    const bad = await raw.call({ op: "auth", rid: 4, kid: "planner-1", proof: new Uint8Array(64) });
    expect((bad.error as { code: string }).code).toBe("AUTH_FAILED");
    expect(await raw.closed).toBe(1000);

    const watcher = await mirror().login("ops", ops.key);
    const web = await connect({ url: ws, agent: "planner", key: planner.key, reconnect: false });
    const m = testMessage(20, { sender: "planner", receiver: "coder" });
    const r = await web.send(m); // signed with the key on its way
    const [seen] = await watcher.waitFor((f) => f.message?.id === m.id);
    expect(seen.entryId).toBe(r.entryId);
    expect(seen.message!.sig?.kid).toBe("planner-1");
    const forbidden = await refusal(web.streamAdd("results", testMessage(21, { sender: "planner", receiver: "coder" })));
    expect(forbidden.code).toBe("FORBIDDEN");
    const impersonation = await refusal(web.send(testMessage(22, { sender: "coder", receiver: "planner" })));
    expect(impersonation.code).toBe("FORBIDDEN");
    await web.close();
    watcher.close();
  });

  // Last: it changes the keyring.
  test("a keyring reload closes the watchers of agents removed or changed (AUTH_REVOKED); the others keep watching", async () => {
    const kept = await mirror().login("ops", ops.key);
    const changed = await mirror().login("viewer", viewer.key);
    writeKeyring(keyringPath, [ops, viewer, coder, planner], { ...rules, viewer: { admin: false } });
    process.kill(ampd.pid, "SIGHUP");
    // Closed by the timer: no message needs to be added first.
    const r = await changed.refused();
    expect(r).toMatchObject({ code: "AUTH_REVOKED", close: 1008 });
    expect(r.message).toBe("the keyring entry of agent viewer changed; reconnect to authenticate again");
    expect(ampd.stderr).toContain("SIGHUP: keyring");
    const m = testMessage(30, { sender: "planner", receiver: "coder" });
    await bus.send(m); // planner's entry did not change: its connection is open
    await kept.waitFor((f) => f.message?.id === m.id);
    expect(changed.messages.some((f) => f.message!.id === m.id)).toBe(false);
    // Reconnecting as viewer is now refused.
    const again = mirror();
    await again.answer("viewer", viewer.key);
    expect((await again.refused()).code).toBe("FORBIDDEN");

    // Removing an agent: its watcher is closed as soon as the next message is added, or by the timer.
    writeKeyring(keyringPath, [viewer, coder, planner], { ...rules, viewer: { admin: false } });
    process.kill(ampd.pid, "SIGHUP");
    const gone = await kept.refused();
    expect(gone.code).toBe("AUTH_REVOKED");
    expect(gone.message).toBe("agent ops is no longer in the keyring; reconnect to authenticate again");
    expect(ampd.stderr).toContain("http: live-view watcher");
  });
});
