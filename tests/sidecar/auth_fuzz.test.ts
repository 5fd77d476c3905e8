/**
 * Fuzz of connection authentication: thousands of mutated `hello` and `auth`
 * frames, over many connections, at an ampd with a keyring, while a good
 * client (authenticated as agent `good`) pings and adds signed messages.
 *
 * Every reply is checked. A connection that did not present a valid proof
 * for its own nonce never gets a successful `auth` or any successful reply
 * but `hello` and `ping`; every `auth` that is refused (`AUTH_FAILED`) is the
 * last thing ampd says on that connection, and the connection closes (the
 * frames sent behind it, a valid proof included, are never answered); the
 * good client's every ping is answered; at the end ampd's `info` counters
 * equal what the clients saw (errors, auth failures, bad requests, requests,
 * connections, adds).
 *
 * What is sent: ops before hello, garbage MessagePack, hellos with the agent
 * missing, of the wrong type, huge, unknown, with bit-flipped bytes, a second
 * hello; ops before auth; auth with an unknown kid, another agent's kid, a
 * missing or mistyped kid or proof, a truncated, bit-flipped or wrong-length
 * proof, a proof made for another connection's nonce (replay), another
 * agent's valid proof, a proof over the wrong agent name or from the wrong
 * key of the same agent; auth twice; and, on a few connections, the valid
 * proof (those must succeed).
 *
 * Seeded: `AUTH_FUZZ_SEED=<n> bun test tests/sidecar/auth_fuzz.test.ts`
 * replays a run's choices (the seed is printed; ampd's nonces differ, so the
 * proofs do too). Size: `AUTH_FUZZ_FRAMES` sets the frames sent before
 * authentication (default 12 000, the CI size: a few seconds).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decode as msgpackDecode, encode as msgpackEncode } from "@msgpack/msgpack";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { authBytes, createMessage, encode, newAgentKey, parseKeyFile, proveAuth, sign, type SigningKey } from "../../mod.ts";
import { Ampd, buildAmpd } from "../_helpers/ampd.ts";
import { errorOf, type Frame, RawConn } from "../_helpers/raw_conn.ts";
import { prng, type Rng } from "../_helpers/prng.ts";

const SEED = Number(process.env.AUTH_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const FRAMES = Number(process.env.AUTH_FUZZ_FRAMES ?? 12_000);
/** Connections open at once. */
const WORKERS = 8;
/** rid of the ping that closes each connection's script: its reply means every earlier frame was answered. */
const SENTINEL = 0xfffffff0;
/**
 * rids of the pings between phases, far from the small rids of the other
 * requests: a bit-flipped frame may come back with any small rid.
 */
const SYNC_RIDS = 0x7fff0000;


// ---------------------------------------------------------------------------
// The keyring: four agents, Ed25519 and HMAC keys, one agent with one of each.

interface AgentKeyOf {
  agent: string;
  kid: string;
  alg: "ed25519" | "hmac-sha256";
  key: SigningKey;
}

interface Ring {
  path: string;
  dir: string;
  keys: AgentKeyOf[];
  byAgent: Map<string, AgentKeyOf[]>;
  /** The good client's key. */
  good: AgentKeyOf;
}

const AGENTS: { agent: string; keys: { kid: string; alg: "ed25519" | "hmac-sha256" }[] }[] = [
  { agent: "alice", keys: [{ kid: "alice-1", alg: "ed25519" }] },
  { agent: "bob", keys: [{ kid: "bob-h", alg: "hmac-sha256" }] },
  { agent: "carol", keys: [{ kid: "carol-1", alg: "ed25519" }, { kid: "carol-h", alg: "hmac-sha256" }] },
  { agent: "good", keys: [{ kid: "good-1", alg: "ed25519" }] },
];
const FUZZ_AGENTS = ["alice", "bob", "carol"];

async function makeRing(): Promise<Ring> {
  const dir = mkdtempSync(join(tmpdir(), "ampd-auth-fuzz-"));
  const agents: Record<string, unknown> = {};
  const keys: AgentKeyOf[] = [];
  for (const a of AGENTS) {
    const entries: Record<string, string>[] = [];
    for (const k of a.keys) {
      const made = await newAgentKey({ agent: a.agent, kid: k.kid, alg: k.alg });
      entries.push(made.keyringKey);
      const { key } = await parseKeyFile(made.keyFile);
      keys.push({ agent: a.agent, kid: k.kid, alg: k.alg, key });
    }
    agents[a.agent] = { keys: entries, publish: [">"], subscribe: [">"] };
  }
  const path = join(dir, "keyring.json");
  writeFileSync(path, JSON.stringify({ agents }, null, 2), { mode: 0o600 });
  const byAgent = new Map<string, AgentKeyOf[]>();
  for (const k of keys) byAgent.set(k.agent, [...(byAgent.get(k.agent) ?? []), k]);
  return { path, dir, keys, byAgent, good: byAgent.get("good")![0] };
}

// ---------------------------------------------------------------------------
// Frames

function withLength(body: Uint8Array, declared = body.length): Uint8Array {
  const f = new Uint8Array(4 + body.length);
  new DataView(f.buffer).setUint32(0, declared >>> 0);
  f.set(body, 4);
  return f;
}

/** Sets a key as an own property, even `__proto__`, as a decoded map would have it. */
function put(m: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(m, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** One request as a frame, encoded by @msgpack/msgpack (it writes any value, keys such as `__proto__` too). */
function frameOf(req: Record<string, unknown>): Uint8Array {
  return withLength(msgpackEncode(req));
}

function flip(r: Rng, b: Uint8Array): Uint8Array {
  const out = b.slice();
  for (let i = r.int(1, 3); i > 0; i--) {
    const at = r.int(0, out.length - 1);
    out[at] = r.next() < 0.5 ? out[at] ^ (1 << r.int(0, 7)) : r.int(0, 255);
  }
  return out;
}

function randomValue(r: Rng, depth = 0): unknown {
  switch (r.int(0, depth > 2 ? 6 : 8)) {
    case 0: return null;
    case 1: return r.next() < 0.5;
    case 2: return r.pick([0, -1, 1, 2 ** 32, 2 ** 53, 1.5, NaN, -(2 ** 31)]);
    case 3: return r.pick(["", "alice", "alice-1", "bob-h", "x".repeat(r.int(0, 300)), "ünï", "__proto__"]);
    case 4: return r.bytes(r.int(0, 80));
    case 5: return r.int(0, 2 ** 31);
    case 6: return r.pick(FUZZ_AGENTS);
    case 7: return Array.from({ length: r.int(0, 3) }, () => randomValue(r, depth + 1));
    default: {
      const m: Record<string, unknown> = {};
      for (let i = r.int(0, 3); i > 0; i--) put(m, r.pick(["op", "rid", "kid", "proof", "agent", "x", "__proto__"]), randomValue(r, depth + 1));
      return m;
    }
  }
}

/** A frame whose body is not a request: not MessagePack, not a map, no rid, a bad rid. Never breaks the framing. */
function garbageFrame(r: Rng): Uint8Array {
  switch (r.int(0, 7)) {
    case 0: return withLength(r.bytes(r.int(1, 200)));
    case 1: return withLength(new Uint8Array([0xc1])); // never used in MessagePack
    case 2: return withLength(new Uint8Array([0x85, 0xa2, 0x6f, 0x70])); // a map of 5 that ends after one key
    case 3: return withLength(msgpackEncode(randomValue(r)));
    case 4: return withLength(msgpackEncode([{ op: "auth", rid: 1, kid: "alice-1", proof: r.bytes(64) }]));
    case 5: return frameOf({ op: r.pick(["hello", "auth", "ping", "add"]), rid: r.pick([-1, "1", null, 2 ** 32, 1.5, [], {}]) });
    case 6: return frameOf({ op: "auth", kid: "alice-1", proof: r.bytes(64) }); // no rid
    default: {
      // deep nesting
      const depth = r.pick([50, 200, 5000]);
      const parts: number[] = [];
      for (let i = 0; i < depth; i++) parts.push(0x91);
      parts.push(0xc0);
      return withLength(new Uint8Array(parts));
    }
  }
}

/** Ops that must be refused before hello (HELLO_REQUIRED) or before auth (AUTH_REQUIRED); some unknown ones too. */
const GATED_OPS = ["add", "read", "subscribe", "credit", "unsubscribe", "trim", "info", "streams", "group.create", "group.read", "ack", "nack", "extend", "pending", "claim", "group.info"];

function gatedRequest(r: Rng, rid: number, signedAdd: Uint8Array): Record<string, unknown> {
  const op = r.next() < 0.1 ? r.pick(["nope", "__proto__", "constructor", "AUTH", "auth "]) : r.pick(GATED_OPS);
  const req: Record<string, unknown> = { op, rid };
  if (op === "add") Object.assign(req, { stream: r.pick(["inbox.alice", "fz.a", "good.s"]), msg: r.next() < 0.5 ? signedAdd : r.bytes(r.int(0, 64)) });
  else if (op === "read") req.streams = { "good.s": "0" };
  else if (op === "info" && r.next() < 0.5) req.stream = "good.s";
  else if (op !== "streams") Object.assign(req, { stream: "good.s", group: "g", consumer: "c", sub: 1, n: 1, ids: ["1-1"], from: "0" });
  return req;
}

// ---------------------------------------------------------------------------
// What the clients saw, to hold against ampd's counters

class Tally {
  errors = 0;
  byCode: Record<string, number> = {};
  ok = 0;
  /** Replies of requests that passed ampd's gate (rid set; not HELLO_REQUIRED, AUTH_REQUIRED, UNKNOWN_OP). */
  requests = 0;
  /** BAD_REQUEST without a rid, and UNKNOWN_OP. */
  badRequests = 0;
  timeouts = 0;
  connections = 0;
  added = 0;

  see(f: Frame): void {
    const rid = f.rid;
    if (f.ok === true) {
      this.ok++;
      this.requests++;
      return;
    }
    const code = (f.error as { code?: string } | undefined)?.code ?? "?";
    this.errors++;
    this.byCode[code] = (this.byCode[code] ?? 0) + 1;
    if (code === "HELLO_TIMEOUT" || code === "FRAME_TIMEOUT") this.timeouts++;
    if ((code === "BAD_REQUEST" && (rid === null || rid === undefined)) || code === "UNKNOWN_OP") this.badRequests++;
    if (rid !== null && rid !== undefined && code !== "HELLO_REQUIRED" && code !== "AUTH_REQUIRED" && code !== "UNKNOWN_OP") this.requests++;
  }
}

/** One finding against the rules; the test fails with the first few. */
interface Violation {
  conn: number;
  what: string;
  frames: string;
}

const show = (f: Frame) => JSON.stringify(f, (_k, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v)).slice(0, 300);

function isHelloReply(f: Frame): boolean {
  return f.ok === true && f.server === "ampd" && "maxFrame" in f && f.nonce instanceof Uint8Array && !("agent" in f);
}

function isPingReply(f: Frame): boolean {
  const keys = Object.keys(f).sort().join(",");
  return f.ok === true && keys === "ok,rid,time";
}

// ---------------------------------------------------------------------------
// One fuzz connection

interface Captured {
  agent: string;
  kid: string;
  nonce: Uint8Array;
  proof: Uint8Array;
}

interface Ctx {
  socket: string;
  ring: Ring;
  tally: Tally;
  violations: Violation[];
  /** Valid proofs of earlier connections, each for that connection's nonce: replayed on others. */
  captured: Captured[];
  /** Frames sent before the connection was authenticated (all of them, on most connections). */
  preAuthFrames: number;
  framesSent: number;
  kinds: Record<string, number>;
  proven: number;
  refusedAuths: number;
  signedAdd: Uint8Array;
}

/** A well-formed auth attempt (the one that uses up the nonce), and whether it must succeed. */
interface AuthTry {
  kind: string;
  kid: string;
  proof: Uint8Array;
  valid: boolean;
}

class FuzzConn {
  readonly id: number;
  readonly c: RawConn;
  readonly ctx: Ctx;
  rid = 1;
  authed = false;
  /** rid of the auth that used up the nonce, and whether it must succeed. */
  consuming: { rid: number; valid: boolean } | undefined;
  /** True once this connection sent a valid proof for its own nonce. */
  proven = false;
  expectClose = false;
  #syncs = 0;
  /** Frames not yet written: each phase goes out in one write (see `flush()`). */
  #queued: Uint8Array[] = [];

  constructor(id: number, c: RawConn, ctx: Ctx) {
    this.id = id;
    this.c = c;
    this.ctx = ctx;
  }

  send(bytes: Uint8Array, kind: string): void {
    this.#queued.push(bytes);
    this.ctx.framesSent++;
    if (!this.authed) this.ctx.preAuthFrames++;
    this.ctx.kinds[kind] = (this.ctx.kinds[kind] ?? 0) + 1;
  }

  request(req: Record<string, unknown>, kind: string): number {
    const rid = req.rid as number;
    this.send(frameOf(req), kind);
    return rid;
  }

  nextRid(): number {
    return this.rid++;
  }

  /**
   * Writes the queued frames in one write. One write, not one per frame:
   * once ampd has refused a hello or auth it closes the socket, and a write
   * of this client after that fails with EPIPE, on which Bun's socket drops
   * the reply it had not read yet (AUTH_FAILED included). A single write is
   * in ampd's socket buffer before ampd reads any of it.
   */
  flush(): void {
    if (this.#queued.length === 0) return;
    this.c.write(this.#queued.length === 1 ? this.#queued[0] : Buffer.concat(this.#queued));
    this.#queued = [];
  }

  /** Sends a ping behind the queued frames and waits for its reply, or for ampd to close; true when the reply came. */
  async sync(rid = SYNC_RIDS + this.#syncs++): Promise<boolean> {
    this.request({ op: "ping", rid }, "sync-ping");
    this.flush();
    try {
      await this.c.waitFor((f) => f.rid === rid || this.c.isClosed, `sync ping ${rid}`, 10_000);
    } catch (e) {
      if (!this.c.isClosed) throw e;
    }
    return this.c.frames.some((f) => f.rid === rid);
  }

  violate(what: string): void {
    this.ctx.violations.push({ conn: this.id, what, frames: this.c.frames.slice(-6).map(show).join(" ") });
  }

  /** The checks of every reply of this connection, once it is done. */
  check(): void {
    const frames = this.c.frames;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      this.ctx.tally.see(f);
      if (f.ok === true) {
        if ("agent" in f && !this.proven) this.violate(`auth succeeded without a valid proof: ${show(f)}`);
        if (!this.proven && !isHelloReply(f) && !isPingReply(f)) this.violate(`a successful reply other than hello or ping before auth: ${show(f)}`);
      }
      const code = f.ok === false ? (f.error as { code?: string }).code : undefined;
      if (code === "AUTH_FAILED") {
        if (i !== frames.length - 1) this.violate(`ampd answered ${frames.length - 1 - i} frame(s) after AUTH_FAILED`);
        if (!this.c.isClosed) this.violate("AUTH_FAILED but the connection is still open");
      }
    }
    const consuming = this.consuming;
    if (consuming !== undefined) {
      // The last reply with that rid: an earlier bit-flipped frame may have come back with the same one.
      const reply = frames.findLast((f) => f.rid === consuming.rid);
      if (reply === undefined) this.violate(`no reply to the auth (rid ${consuming.rid})`);
      else if (consuming.valid && reply.ok !== true) this.violate(`a valid proof was refused: ${show(reply)}`);
      else if (!consuming.valid) {
        if (reply.ok !== false || (reply.error as { code: string }).code !== "AUTH_FAILED") this.violate(`an invalid proof was not refused with AUTH_FAILED: ${show(reply)}`);
        else this.ctx.refusedAuths++;
      }
    }
    if (this.expectClose && !this.c.isClosed) this.violate("expected ampd to close the connection");
  }
}

function helloReq(rid: number, agent: string | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const req: Record<string, unknown> = { op: "hello", rid, version: 1, client: "auth-fuzz" };
  if (agent !== undefined) req.agent = agent;
  for (const [k, v] of Object.entries(extra)) put(req, k, v);
  return req;
}

/**
 * What a hello named, as ampd saw it: `agent` when it is an agent of the
 * keyring, else undefined; `mangled` when the test cannot tell (bit-flipped
 * bytes that do not decode here), so that no proof made for any agent is sent.
 */
interface HelloSent {
  agent?: string;
  mangled?: boolean;
}

/** Sends one hello variant. */
function sendHello(conn: FuzzConn, r: Rng): HelloSent {
  const rid = conn.nextRid();
  const kind = r.pick([
    "good", "good", "good", "good", "good", "good", "unknown-agent", "missing-agent", "agent-type", "huge-agent", "flipped",
    "bad-version", "bad-client", "extra-keys", "bad-rid", "not-a-map",
  ]);
  const agent = r.pick(FUZZ_AGENTS);
  const k = `hello:${kind}`;
  switch (kind) {
    case "good":
      conn.request(helloReq(rid, agent), k);
      return { agent };
    case "unknown-agent":
      conn.request(helloReq(rid, r.pick(["mallory", "alice ", "ALICE", "alice\n", "ünï", "a".repeat(128), "__proto__", "constructor", "alice-1", "bob-h"])), k);
      return {};
    case "missing-agent":
      conn.request(helloReq(rid, undefined), k);
      conn.expectClose = true; // AUTH_FAILED: an ampd with a keyring needs the agent
      return {};
    case "agent-type":
      conn.request(helloReq(rid, undefined, { agent: r.pick([null, 1, true, [], {}, r.bytes(5), 1.5, "", ["alice"]]) }), k);
      return {};
    case "huge-agent":
      conn.request(helloReq(rid, "x".repeat(r.pick([129, 1000, 70_000, 300_000]))), k);
      return {};
    case "flipped": {
      const body = flip(r, msgpackEncode(helloReq(rid, agent)));
      conn.send(withLength(body), k);
      // The flips may have spared the agent, or changed it: what does the frame say now?
      try {
        const m = msgpackDecode(body) as Record<string, unknown>;
        const named = typeof m === "object" && m !== null ? m.agent : undefined;
        return typeof named === "string" && FUZZ_AGENTS.includes(named) ? { agent: named } : {};
      } catch {
        return { mangled: true };
      }
    }
    case "bad-version":
      conn.request({ ...helloReq(rid, agent), version: r.pick([0, -1, "1", null, 2 ** 32, 1.5]) }, k);
      return {};
    case "bad-client":
      conn.request(r.next() < 0.3 ? { op: "hello", rid, version: 1, agent } : { ...helloReq(rid, agent), client: r.pick(["", 7, "c".repeat(129), null]) }, k);
      return {};
    case "extra-keys": {
      // No --token: a string token is ignored; one of another type is refused.
      const req = helloReq(rid, agent, { token: r.pick(["secret", 5, ""]), nonce: r.bytes(32), kid: "alice-1" });
      put(req, "__proto__", { agent: "good" });
      conn.request(req, k);
      return { agent };
    }
    case "bad-rid":
      conn.request({ ...helloReq(rid, agent), rid: r.pick([-1, "0", null, 2 ** 32, 0.5]) }, k);
      return {};
    default:
      conn.send(withLength(msgpackEncode(["hello", rid, 1, "auth-fuzz", agent])), k);
      return {};
  }
}

function keyOf(ring: Ring, agent: string, r: Rng): AgentKeyOf {
  return r.pick(ring.byAgent.get(agent)!);
}

/** The proof ampd would accept for `agent`'s key `k` on this nonce. */
function prove(k: AgentKeyOf, nonce: Uint8Array, agent = k.agent): Promise<Uint8Array> {
  return proveAuth(k.key, { agent, nonce });
}

/** A well-formed auth attempt for a connection that said hello as `agent` (undefined: an agent ampd does not know, or a mangled hello). */
async function authTry(ctx: Ctx, r: Rng, o: { hello: HelloSent; nonce: Uint8Array; allowValid: boolean }): Promise<AuthTry> {
  const { ring } = ctx;
  const { nonce } = o;
  const agent = o.hello.agent;
  if (agent === undefined) {
    const k = r.pick(ring.keys);
    const kind = o.hello.mangled ? "mangled-hello:random" : r.pick(["unknown-agent:random", "unknown-agent:valid-for-key-owner"]);
    const proof = kind.endsWith("random") ? r.bytes(r.pick([32, 64])) : await prove(k, nonce);
    return { kind, kid: k.kid, proof, valid: false };
  }
  const own = keyOf(ring, agent, r);
  const others = ring.keys.filter((k) => k.agent !== agent);
  const kind = o.allowValid && r.next() < 0.12 ? "valid" : r.pick([
    "unknown-kid", "other-kid:random", "other-agent-valid", "wrong-agent-bytes", "other-agents-key", "truncated", "bit-flipped",
    "wrong-length", "random-right-length", "replay", "replay", "own-other-key", "kid-case",
  ]);
  const valid = await prove(own, nonce);
  const other = r.pick(others);
  switch (kind) {
    case "valid":
      return { kind, kid: own.kid, proof: valid, valid: true };
    case "unknown-kid":
      return { kind, kid: r.pick(["nope", `${own.kid}x`, "x".repeat(128), "ünï", "__proto__", agent]), proof: valid, valid: false };
    case "other-kid:random":
      return { kind, kid: other.kid, proof: r.bytes(other.alg === "ed25519" ? 64 : 32), valid: false };
    case "other-agent-valid":
      // A proof that would open a connection that said hello as the other agent.
      return { kind, kid: other.kid, proof: await prove(other, nonce), valid: false };
    case "wrong-agent-bytes":
      // The own key, but over the auth bytes naming another agent.
      return { kind, kid: own.kid, proof: await prove(own, nonce, other.agent), valid: false };
    case "other-agents-key":
      // The own kid, signed with another agent's key.
      return { kind, kid: own.kid, proof: await proveAuth(other.key, { agent, nonce }), valid: false };
    case "truncated":
      return { kind, kid: own.kid, proof: valid.subarray(0, r.int(0, valid.length - 1)).slice(), valid: false };
    case "bit-flipped": {
      const p = valid.slice();
      const at = r.int(0, p.length - 1);
      p[at] ^= 1 << r.int(0, 7);
      return { kind, kid: own.kid, proof: p, valid: false };
    }
    case "wrong-length": {
      const len = r.pick([0, 1, 31, 33, 63, 65, 96, 128, 1024].filter((n) => n !== valid.length));
      const p = new Uint8Array(len);
      p.set(valid.subarray(0, Math.min(len, valid.length)));
      return { kind, kid: own.kid, proof: p, valid: false };
    }
    case "random-right-length":
      return { kind, kid: own.kid, proof: r.bytes(valid.length), valid: false };
    case "replay": {
      // A proof that was valid, for the same agent and kid, on another connection's nonce.
      const same = ctx.captured.filter((c) => c.agent === agent && c.nonce !== nonce);
      const c = same.length > 0 ? r.pick(same) : undefined;
      if (c === undefined) return { kind: "replay:none-yet", kid: own.kid, proof: r.bytes(valid.length), valid: false };
      return { kind, kid: c.kid, proof: c.proof, valid: false };
    }
    case "own-other-key": {
      // The agent's other key (carol has two): the proof of one, the kid of the other.
      const keys = ring.byAgent.get(agent)!;
      if (keys.length < 2) return { kind: "own-other-key:n/a", kid: own.kid, proof: await prove(other, nonce, agent), valid: false };
      const [a, b] = own === keys[0] ? [keys[0], keys[1]] : [keys[1], keys[0]];
      return { kind, kid: b.kid, proof: await prove(a, nonce), valid: false };
    }
    default:
      return { kind, kid: own.kid.toUpperCase(), proof: valid, valid: false };
  }
}

/** An auth request that ampd refuses for its arguments (BAD_ARGUMENT), leaving the nonce unused. */
function badArgAuth(r: Rng, rid: number, kid: string): Record<string, unknown> {
  switch (r.int(0, 5)) {
    case 0: return { op: "auth", rid, proof: r.bytes(64) };
    case 1: return { op: "auth", rid, kid };
    case 2: return { op: "auth", rid, kid: r.pick([null, 5, r.bytes(7), ["alice-1"], "", "k".repeat(129)]), proof: r.bytes(64) };
    case 3: return { op: "auth", rid, kid, proof: r.pick([null, "AAAA", 64, [1, 2, 3], { a: 1 }, true]) };
    case 4: return { op: "auth", rid, kid: r.pick([null, 5]), proof: "x" };
    default: return { op: "auth", rid };
  }
}

async function fuzzConnection(ctx: Ctx, id: number, r: Rng): Promise<void> {
  const raw = await RawConn.open(ctx.socket);
  ctx.tally.connections++;
  const conn = new FuzzConn(id, raw, ctx);
  try {
    await script(ctx, conn, r);
  } finally {
    // Everything sent was answered (the sentinel's reply came) or ampd closed the connection.
    conn.check();
    raw.close();
  }
}

/** A length prefix ampd refuses (over --max-frame, or zero): BAD_FRAME, and the connection closes. */
async function breakFraming(conn: FuzzConn, r: Rng): Promise<void> {
  const declared = r.pick([0, 0xffffffff, 16 * 1024 * 1024 + 1]);
  conn.send(withLength(r.bytes(r.int(0, 16)), declared), "bad-length");
  conn.flush();
  conn.expectClose = true;
  await conn.c.waitClosed(5000).catch(() => conn.violate("not closed within 5 s of a bad frame length"));
}

async function script(ctx: Ctx, conn: FuzzConn, r: Rng): Promise<void> {
  // Before hello: gated ops (auth among them), pings, garbage.
  for (let i = r.next() < 0.4 ? r.int(1, 4) : 0; i > 0; i--) {
    const x = r.next();
    if (x < 0.3) conn.request({ op: "auth", rid: conn.nextRid(), kid: r.pick(ctx.ring.keys).kid, proof: r.bytes(64) }, "auth-before-hello");
    else if (x < 0.5) conn.request({ op: "ping", rid: conn.nextRid() }, "ping-before-hello");
    else if (x < 0.75) conn.request(gatedRequest(r, conn.nextRid(), ctx.signedAdd), "op-before-hello");
    else conn.send(garbageFrame(r), "garbage");
  }
  if (r.next() < 0.01) return await breakFraming(conn, r);
  // Hello, up to three tries.
  let hello: HelloSent = {};
  let nonce: Uint8Array | undefined;
  for (let tries = 0; tries < 3 && nonce === undefined; tries++) {
    const seen = conn.c.frames.length;
    hello = sendHello(conn, r);
    if (!(await conn.sync())) return; // closed (AUTH_FAILED without an agent)
    const h = conn.c.frames.slice(seen).find(isHelloReply);
    nonce = h?.nonce as Uint8Array | undefined;
    if (nonce === undefined && r.next() < 0.3) break;
  }
  if (nonce === undefined) return void (await conn.sync(SENTINEL));
  if (hello.agent !== undefined) {
    // Keep a valid proof of this connection for replays on later ones (as if sniffed off the wire).
    const k = keyOf(ctx.ring, hello.agent, r);
    ctx.captured.push({ agent: hello.agent, kid: k.kid, nonce, proof: await prove(k, nonce) });
    if (ctx.captured.length > 64) ctx.captured.shift();
  }
  // Between hello and auth: a second hello, gated ops, pings, garbage.
  for (let i = r.next() < 0.6 ? r.int(1, 6) : 0; i > 0; i--) {
    const x = r.next();
    if (x < 0.15) conn.request(helloReq(conn.nextRid(), r.pick(FUZZ_AGENTS)), "hello-twice");
    else if (x < 0.3) conn.request({ op: "ping", rid: conn.nextRid() }, "ping-before-auth");
    else if (x < 0.8) conn.request(gatedRequest(r, conn.nextRid(), ctx.signedAdd), "op-before-auth");
    else conn.send(garbageFrame(r), "garbage");
  }
  if (r.next() < 0.03) return void (await conn.sync()); // walks away with the nonce unused
  if (r.next() < 0.02) return await breakFraming(conn, r);
  // Arguments ampd refuses before it looks at the proof: the nonce stays unused.
  for (let i = r.next() < 0.2 ? r.int(1, 2) : 0; i > 0; i--) {
    const rid = conn.nextRid();
    conn.request(badArgAuth(r, rid, keyOf(ctx.ring, hello.agent ?? "alice", r).kid), "auth:bad-argument");
  }
  // The auth that uses up the nonce.
  const t = await authTry(ctx, r, { hello, nonce, allowValid: true });
  const rid = conn.nextRid();
  conn.consuming = { rid, valid: t.valid };
  conn.request({ op: "auth", rid, kid: t.kid, proof: t.proof }, `auth:${t.kind}`);
  if (t.valid) {
    conn.proven = true;
    ctx.proven++;
    conn.authed = true;
    // Authenticated: ops are served; a second auth is refused and the connection stays.
    conn.request({ op: "auth", rid: conn.nextRid(), kid: t.kid, proof: t.proof }, "auth-twice");
    conn.request({ op: "info", rid: conn.nextRid() }, "after-auth");
    conn.request({ op: "streams", rid: conn.nextRid() }, "after-auth");
    await conn.sync(SENTINEL);
    const twice = conn.c.frames.findLast((f) => f.rid === rid + 1);
    if (twice === undefined || twice.ok !== false || errorOf(twice).code !== "BAD_REQUEST") conn.violate(`second auth after a good one: ${twice && show(twice)}`);
    return;
  }
  // Behind a refused auth, in the same write: none of it may be answered, not even a valid proof.
  conn.expectClose = true;
  const behind: Uint8Array[] = [];
  for (let i = r.int(0, 3); i > 0; i--) {
    const b = conn.nextRid();
    const x = r.next();
    if (x < 0.3 && hello.agent !== undefined) {
      const k = keyOf(ctx.ring, hello.agent, r);
      behind.push(frameOf({ op: "auth", rid: b, kid: k.kid, proof: await prove(k, nonce) }));
    } else if (x < 0.6) behind.push(frameOf({ op: "ping", rid: b }));
    else behind.push(frameOf(gatedRequest(r, b, ctx.signedAdd)));
  }
  for (const b of behind) conn.send(b, "behind-refused-auth");
  // Written with the auth and the frames behind it, in one write; `check()` also sees that AUTH_FAILED came last.
  if (await conn.sync(SENTINEL)) conn.violate("the sentinel behind a refused auth was answered");
  await conn.c.waitClosed(5000).catch(() => conn.violate("not closed within 5 s of a refused auth"));
}

// ---------------------------------------------------------------------------
// The good client: authenticated as `good`, pings all along, adds signed messages.

class GoodClient {
  readonly c: RawConn;
  #rid = 1;
  readonly pingMs: number[] = [];
  failures: string[] = [];
  added = 0;
  readonly tally: Tally;

  private constructor(c: RawConn, tally: Tally) {
    this.c = c;
    this.tally = tally;
  }

  static async open(socket: string, ring: Ring, tally: Tally): Promise<GoodClient> {
    const c = await RawConn.open(socket);
    tally.connections++;
    const g = new GoodClient(c, tally);
    const h = await g.call({ op: "hello", version: 1, client: "good", agent: "good" });
    if (!isHelloReply(h)) throw new Error(`good hello: ${show(h)}`);
    const proof = await prove(ring.good, h.nonce as Uint8Array);
    const a = await g.call({ op: "auth", kid: ring.good.kid, proof });
    if (a.ok !== true || a.agent !== "good") throw new Error(`good auth: ${show(a)}`);
    return g;
  }

  async call(req: Record<string, unknown>, timeoutMs = 10_000): Promise<Frame> {
    const rid = this.#rid++;
    this.c.request({ ...req, rid });
    const f = await this.c.reply(rid, timeoutMs);
    this.#drain();
    return f;
  }

  /** Tallies and forgets the frames received so far (so `reply()` does not rescan thousands). */
  #drain(): void {
    for (const f of this.c.frames) this.tally.see(f);
    this.c.frames.length = 0;
  }

  async ping(): Promise<void> {
    const t0 = performance.now();
    const f = await this.call({ op: "ping" }).catch((e) => ({ ok: false, error: { code: "NO_REPLY", message: String(e) } }) as Frame);
    this.pingMs.push(performance.now() - t0);
    if (f.ok !== true) this.failures.push(`ping: ${show(f)}`);
  }

  async add(key: AgentKeyOf, n: number): Promise<void> {
    const msg = encode(await sign(createMessage({ type: "event", sender: "good", receiver: "broadcast", payload: { n } }), key.key));
    const f = await this.call({ op: "add", stream: "good.s", msg });
    if (f.ok === true) this.added++;
    else this.failures.push(`add: ${show(f)}`);
  }
}

// ---------------------------------------------------------------------------

describe("auth fuzz", () => {
  let ring: Ring;

  beforeAll(async () => {
    await buildAmpd();
    ring = await makeRing();
  }, 60_000);

  afterAll(() => {
    if (ring !== undefined) rmSync(ring.dir, { recursive: true, force: true });
  });

  test("a proof captured on one connection opens no other (replay), and a refused auth closes the connection", async () => {
    const ampd = await Ampd.start({ args: ["--backend", "memory", "--keyring", ring.path] });
    try {
      for (const agent of ["alice", "bob"]) {
        const k = ring.byAgent.get(agent)![0];
        const a = await RawConn.hello(ampd.socket, { agent });
        const b = await RawConn.hello(ampd.socket, { agent });
        const nonceA = a.frames[0].nonce as Uint8Array;
        const nonceB = b.frames[0].nonce as Uint8Array;
        expect(nonceA).toBeInstanceOf(Uint8Array);
        expect(nonceA.length).toBe(32);
        expect(Buffer.from(nonceA).equals(Buffer.from(nonceB))).toBe(false);
        // A's proof, made with the real key over A's auth bytes: what an eavesdropper on A would capture.
        const proofA = await proveAuth(k.key, { agent, nonce: nonceA });
        expect(authBytes({ agent, kid: k.kid, nonce: nonceA }).length).toBe(`ampbus-auth-v1\n${agent}\n${k.kid}\n`.length + 32);
        // Replayed on B, with a ping behind it in the same write: AUTH_FAILED, the ping unanswered, B closed.
        b.write(new Uint8Array([...frameOf({ op: "auth", rid: 1, kid: k.kid, proof: proofA }), ...frameOf({ op: "ping", rid: 2 })]));
        const refused = await b.reply(1);
        expect(errorOf(refused).code).toBe("AUTH_FAILED");
        await b.waitClosed();
        expect(b.frames.some((f) => f.rid === 2)).toBe(false);
        // Before A uses its proof, nothing but ping is served on A.
        expect(errorOf(await a.call({ op: "info", rid: 1 })).code).toBe("AUTH_REQUIRED");
        expect((await a.call({ op: "ping", rid: 2 })).ok).toBe(true);
        // On A, the same proof is good.
        const ok = await a.call({ op: "auth", rid: 3, kid: k.kid, proof: proofA });
        expect(ok.ok).toBe(true);
        expect(ok.agent).toBe(agent);
        expect((await a.call({ op: "info", rid: 4 })).ok).toBe(true);
        // And once used, on a third connection: refused too.
        const c = await RawConn.hello(ampd.socket, { agent });
        expect(errorOf(await c.call({ op: "auth", rid: 1, kid: k.kid, proof: proofA })).code).toBe("AUTH_FAILED");
        await c.waitClosed();
        a.close();
      }
      const probe = await GoodClient.open(ampd.socket, ring, new Tally());
      const info = await probe.call({ op: "info" });
      expect(info.authFailures).toBe(4);
      probe.c.close();
    } finally {
      await ampd.dispose();
    }
  }, 30_000);

  test("each kind of bad hello and auth, once: the code, and whether the connection closes", async () => {
    const ampd = await Ampd.start({ args: ["--backend", "memory", "--keyring", ring.path] });
    const alice = ring.byAgent.get("alice")![0];
    const bob = ring.byAgent.get("bob")![0];
    const [carol1, carolH] = ring.byAgent.get("carol")!;
    try {
      const hello = async (agent: string) => {
        const c = await RawConn.hello(ampd.socket, { agent });
        return { c, nonce: c.frames[0].nonce as Uint8Array };
      };
      /** auth on a fresh connection that said hello as `agent`; returns the error code (or "ok") and whether it closed. */
      const tryAuth = async (agent: string, make: (nonce: Uint8Array) => Promise<Record<string, unknown>>) => {
        const { c, nonce } = await hello(agent);
        const f = await c.call({ op: "auth", rid: 1, ...(await make(nonce)) });
        const code = f.ok === true ? "ok" : errorOf(f).code;
        if (code === "AUTH_FAILED") await c.waitClosed();
        else expect((await c.call({ op: "ping", rid: 2 })).ok).toBe(true);
        const closed = c.isClosed;
        c.close();
        return { code, closed };
      };
      const failed = { code: "AUTH_FAILED", closed: true };
      const badArg = { code: "BAD_ARGUMENT", closed: false };
      expect(await tryAuth("alice", async (n) => ({ kid: "alice-1", proof: await prove(alice, n) }))).toEqual({ code: "ok", closed: false });
      expect(await tryAuth("carol", async (n) => ({ kid: "carol-h", proof: await prove(carolH, n) }))).toEqual({ code: "ok", closed: false });
      expect(await tryAuth("alice", async (n) => ({ kid: "nope", proof: await prove(alice, n) }))).toEqual(failed);
      expect(await tryAuth("alice", async (n) => ({ kid: "bob-h", proof: await prove(bob, n) }))).toEqual(failed); // bob's valid proof
      expect(await tryAuth("alice", async (n) => ({ kid: "bob-h", proof: await prove(bob, n, "alice") }))).toEqual(failed);
      expect(await tryAuth("alice", async (n) => ({ kid: "alice-1", proof: await prove(alice, n, "bob") }))).toEqual(failed);
      expect(await tryAuth("alice", async (n) => ({ kid: "alice-1", proof: (await prove(alice, n)).subarray(0, 63).slice() }))).toEqual(failed);
      expect(await tryAuth("alice", async (n) => ({ kid: "alice-1", proof: new Uint8Array([...(await prove(alice, n)), 0]) }))).toEqual(failed);
      expect(await tryAuth("alice", async () => ({ kid: "alice-1", proof: new Uint8Array(0) }))).toEqual(failed);
      expect(await tryAuth("alice", async (n) => {
        const p = await prove(alice, n);
        p[17] ^= 0x10;
        return { kid: "alice-1", proof: p };
      })).toEqual(failed);
      expect(await tryAuth("carol", async (n) => ({ kid: "carol-h", proof: await prove(carol1, n) }))).toEqual(failed); // carol's other key
      expect(await tryAuth("carol", async (n) => ({ kid: "carol-1", proof: (await prove(carolH, n)) }))).toEqual(failed);
      expect(await tryAuth("mallory", async (n) => ({ kid: "alice-1", proof: await prove(alice, n) }))).toEqual(failed);
      expect(await tryAuth("alice-1", async (n) => ({ kid: "alice-1", proof: await prove(alice, n, "alice-1") }))).toEqual(failed);
      expect(await tryAuth("alice", async () => ({ proof: new Uint8Array(64) }))).toEqual(badArg);
      expect(await tryAuth("alice", async () => ({ kid: "alice-1" }))).toEqual(badArg);
      expect(await tryAuth("alice", async () => ({ kid: "alice-1", proof: "not bin" }))).toEqual(badArg);
      expect(await tryAuth("alice", async () => ({ kid: 7, proof: new Uint8Array(64) }))).toEqual(badArg);

      // Auth before hello: HELLO_REQUIRED, and the connection stays.
      const early = await RawConn.open(ampd.socket);
      expect(errorOf(await early.call({ op: "auth", rid: 1, kid: "alice-1", proof: new Uint8Array(64) })).code).toBe("HELLO_REQUIRED");
      expect(errorOf(await early.call({ op: "ping", rid: 2 })).code).toBe("HELLO_REQUIRED");
      // Hello without an agent: AUTH_FAILED, closed.
      expect(errorOf(await early.call({ op: "hello", rid: 3, version: 1, client: "x" })).code).toBe("AUTH_FAILED");
      await early.waitClosed();
      // Hello with the agent of a wrong type or size: BAD_ARGUMENT, open; a good hello after it is served.
      const typed = await RawConn.open(ampd.socket);
      for (const [i, agent] of ([5, null, "", "x".repeat(129), new Uint8Array(3)] as unknown[]).entries()) {
        expect(errorOf(await typed.call({ op: "hello", rid: 10 + i, version: 1, client: "x", agent })).code).toBe("BAD_ARGUMENT");
      }
      const late = await typed.call({ op: "hello", rid: 20, version: 1, client: "x", agent: "alice" });
      expect(isHelloReply(late)).toBe(true);
      // A second hello: BAD_REQUEST, and the first nonce still holds.
      expect(errorOf(await typed.call({ op: "hello", rid: 21, version: 1, client: "x", agent: "bob" })).code).toBe("BAD_REQUEST");
      for (const [i, op] of GATED_OPS.entries()) {
        const f = await typed.call({ op, rid: 30 + i, stream: "good.s" });
        expect(errorOf(f).code).toBe("AUTH_REQUIRED");
      }
      const ok = await typed.call({ op: "auth", rid: 60, kid: "alice-1", proof: await prove(alice, late.nonce as Uint8Array) });
      expect(ok.agent).toBe("alice");
      typed.close();
    } finally {
      await ampd.dispose();
    }
  }, 30_000);

  test(`ampd survives ${FRAMES} fuzzed hello/auth frames; nothing unproven is served; counters add up`, async () => {
    console.log(`auth fuzz seed ${SEED} (replay: AUTH_FUZZ_SEED=${SEED} bun test tests/sidecar/auth_fuzz.test.ts)`);
    const ampd = await Ampd.start({ args: ["--backend", "memory", "--keyring", ring.path, "--log-level", "warn"] });
    try {
      const tally = new Tally();
      const good = await GoodClient.open(ampd.socket, ring, tally);
      const rssBefore = ampd.rss();
      // The message ops-before-auth try to add: signed by alice, valid, for a stream she may publish to.
      const signedAdd = encode(await sign(createMessage({ type: "event", sender: "alice", receiver: "broadcast", payload: "x" }), ring.byAgent.get("alice")![0].key));
      const ctx: Ctx = {
        socket: ampd.socket, ring, tally, violations: [], captured: [], preAuthFrames: 0, framesSent: 0, kinds: {}, proven: 0, refusedAuths: 0, signedAdd,
      };
      const started = performance.now();
      let fuzzing = true;
      const pinging = (async () => {
        let n = 0;
        while (fuzzing) {
          await good.ping();
          if (++n % 25 === 0) await good.add(ring.good, n);
          await new Promise((res) => setTimeout(res, 5));
        }
      })();
      let nextConn = 0;
      await Promise.all(Array.from({ length: WORKERS }, async () => {
        while (ctx.preAuthFrames < FRAMES && ctx.violations.length < 20) {
          const id = nextConn++;
          await fuzzConnection(ctx, id, prng(SEED + id));
        }
      }));
      fuzzing = false;
      await pinging;
      const seconds = (performance.now() - started) / 1000;

      // Every fuzz connection is gone (ampd sees the last closes a moment later): only the good client is left.
      let info: Frame = {};
      for (let i = 0; i < 100; i++) {
        info = await good.call({ op: "info" });
        if (info.connections === 1) break;
        await new Promise((res) => setTimeout(res, 20));
      }
      const pings = [...good.pingMs].sort((a, b) => a - b);
      const q = (p: number) => pings[Math.min(pings.length - 1, Math.floor(p * pings.length))];
      console.log(
        `auth fuzz: ${ctx.framesSent} frames (${ctx.preAuthFrames} before auth) on ${nextConn} connections in ${seconds.toFixed(1)} s; ` +
          `${ctx.proven} proven, ${ctx.refusedAuths} refused auths; replies ${tally.ok} ok, ${tally.errors} errors ${JSON.stringify(tally.byCode)}`,
      );
      console.log(`auth fuzz: kinds ${JSON.stringify(ctx.kinds)}`);
      console.log(
        `auth fuzz: good client ${pings.length} pings, p50 ${q(0.5).toFixed(2)} ms, p99 ${q(0.99).toFixed(2)} ms, max ${pings[pings.length - 1].toFixed(1)} ms; ` +
          `${good.added} signed adds; ampd RSS ${(rssBefore / 2 ** 20).toFixed(0)} MiB before, ${(ampd.rss() / 2 ** 20).toFixed(0)} MiB after`,
      );
      const c = (k: string) => info[k] as number;
      console.log(`auth fuzz: ampd counts ${JSON.stringify(Object.fromEntries(["connectionsTotal", "connections", "requests", "errors", "authFailures", "badRequests", "badFrames", "timeouts", "added", "forbidden", "badSignatures"].map((k) => [k, c(k)])))}`);

      expect(ctx.violations.slice(0, 5)).toEqual([]);
      expect(ampd.alive).toBe(true);
      expect(ctx.preAuthFrames).toBeGreaterThanOrEqual(FRAMES);
      expect(ctx.proven).toBeGreaterThan(0);
      expect(ctx.refusedAuths).toBeGreaterThan(0);
      // The good client was served all along.
      expect(good.failures).toEqual([]);
      expect(pings.length).toBeGreaterThan(10);
      expect(good.added).toBeGreaterThan(0);
      // ampd's counters are what the clients saw.
      expect(c("connections")).toBe(1);
      expect(c("connectionsTotal")).toBe(tally.connections);
      expect(c("authFailures")).toBe(tally.byCode.AUTH_FAILED ?? 0);
      expect(c("errors")).toBe(tally.errors);
      expect(c("badRequests")).toBe(tally.badRequests);
      expect(c("requests")).toBe(tally.requests);
      expect(c("timeouts")).toBe(tally.timeouts);
      expect(c("badFrames")).toBe(tally.byCode.BAD_FRAME ?? 0);
      expect(c("added")).toBe(good.added); // no fuzz add got through
      expect(c("forbidden")).toBe(0);
      expect(c("badSignatures")).toBe(0);
      expect(tally.byCode.INTERNAL ?? 0).toBe(0);
      expect(ampd.stderr).not.toMatch(/INTERNAL|internal error|RangeError|TypeError/);
      good.c.close();
    } finally {
      await ampd.dispose();
    }
  }, 120_000);
});
