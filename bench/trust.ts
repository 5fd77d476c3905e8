/**
 * The trust benchmark: what signature verification costs ampd on `add`.
 *
 * Usage: `bun bench/trust.ts [--n=50000] [--rounds=3] [--inflight=1000]
 * [--verify-n=20000] [--rate=1000] [--idle-seconds=2] [--cpu-prof=DIR]`
 *
 * In one run, on `--backend memory`, it measures acknowledged publish of
 * pre-encoded, pre-signed seed messages (~400 B; unique opIds; pre-built
 * frames, `--inflight` in flight, replies only counted) through
 *
 * - an ampd with no keyring (unsigned messages),
 * - an ampd with `--keyring --require-sig`, Ed25519-signed messages,
 * - the same ampd, HMAC-SHA256-signed messages,
 *
 * and, in this process, the raw single-core rates of the check ampd makes:
 * `crypto.verify(null, data, keyObject, sig)` (node:crypto, synchronous,
 * Ed25519) and `createHmac("sha256", secret).update(data).digest()` +
 * `timingSafeEqual`, over the same bytes ampd verifies (the canonical
 * encoding without `sig`, computed before timing). Every row runs once per
 * round, the order rotated each round; ratios are taken within a round.
 * Messages are signed before anything is timed (signing is the client's
 * cost); each row sends to a new stream, and ampd's `info` must count every
 * add and no error, or the bench fails.
 *
 * Then the latency of a client that does not sign: pings at `--rate` per
 * second on their own connection, with nothing else going on
 * (`--idle-seconds`), and while another connection floods N signed adds
 * (Ed25519, then HMAC; and N unsigned adds on the ampd without a keyring),
 * next to the machine's timer noise (an idle `setTimeout(1)`'s lateness).
 *
 * `--cpu-prof=DIR`: afterwards, ampd from source under `bun --cpu-prof` takes
 * N Ed25519-signed adds (and N HMAC ones, a second profile); the report
 * lists where its time went, per add.
 *
 * Every process it starts is stopped on the way out, also on failure.
 *
 * @module
 */
import { dropStreams } from "./_cleanup.ts";
import { createHmac, createPublicKey, type KeyObject, timingSafeEqual, verify as cryptoVerify } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AmpClient } from "../mod.ts";
import { encode } from "../sdk/codec/codec.ts";
import { fromBase64, sign, signedBytes, type SigningKey } from "../sdk/codec/sign.ts";
import { newAgentKey, parseKeyFile } from "../sdk/trust/auth.ts";
import { connect } from "../sdk/client/connect.ts";
import { buildAmpd } from "../tests/_helpers/ampd.ts";
import { AuthConn } from "./_auth_conn.ts";
import { frameName, selfTimes } from "./cpuprofile.ts";
import { addFrames } from "./_frames.ts";
import { check } from "./_groups.ts";
import { numbered } from "./_messages.ts";
import {
  cleanups,
  cleanupAll,
  cpuSeconds,
  loadAverage,
  log,
  numberFlag,
  ProfiledAmpd,
  runSummary,
  scratchDir,
  startAmpd,
  stringFlag,
  timeWithCpu,
  withTimeout,
} from "./_proc.ts";
import { median, quantile, type Rounds, spread, timerNoise } from "./_stats.ts";
import { formatInt, formatTable, pct, spreadText } from "./_table.ts";

const N = numberFlag("n", 50_000);
const ROUNDS = Math.max(1, numberFlag("rounds", 3));
const INFLIGHT = numberFlag("inflight", 1000);
const VERIFY_N = numberFlag("verify-n", 20_000);
const RATE = numberFlag("rate", 1000);
const IDLE_S = numberFlag("idle-seconds", 2);
const PROFILE_DIR = stringFlag("cpu-prof");
const TIMEOUT_MS = 120_000;

// ---------------------------------------------------------------------------
// Keys and messages

interface Key {
  agent: string;
  kid: string;
  alg: "ed25519" | "hmac-sha256";
  signing: SigningKey;
  /** The keyring entry's key material: the Ed25519 public key or the HMAC secret. */
  material: Uint8Array;
  entry: Record<string, string>;
}

async function makeKey(agent: string, alg: "ed25519" | "hmac-sha256"): Promise<Key> {
  const made = await newAgentKey({ agent, kid: `${agent}-1`, alg });
  const { key } = await parseKeyFile(made.keyFile);
  const material = fromBase64(alg === "ed25519" ? made.keyringKey.publicKey : made.keyringKey.secret)!;
  return { agent, kid: key.kid, alg, signing: key, material, entry: made.keyringKey };
}

/** Pre-signed messages: the encoded messages ampd is sent, and the bytes and signature it verifies of each. */
interface Signed {
  bytes: Uint8Array[];
  /** The canonical encoding without `sig`: what a signature covers. */
  data: Uint8Array[];
  sigs: Uint8Array[];
}

async function signedSet(n: number, key: Key | undefined): Promise<Signed> {
  const out: Signed = { bytes: new Array(n), data: new Array(n), sigs: new Array(n) };
  for (let i = 0; i < n; i++) {
    const m = numbered(key === undefined ? {} : { sender: key.agent });
    if (key === undefined) {
      out.bytes[i] = encode(m);
      continue;
    }
    const s = await sign(m, key.signing);
    out.bytes[i] = encode(s);
    out.data[i] = await signedBytes(m);
    out.sigs[i] = s.sig!.value;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Rows

interface Row extends Rounds {
  name: string;
  /** ampd's CPU per message, µs, per round (ampd rows only). */
  ampdUs: number[];
}

const ROW = {
  plain: "ampd, no keyring: unsigned adds",
  ed: "ampd --keyring --require-sig: Ed25519-signed adds",
  hmac: "ampd --keyring --require-sig: HMAC-SHA256-signed adds",
  rawEd: "in process: node:crypto verify, Ed25519 (same bytes)",
  rawHmac: "in process: createHmac sha256 + timingSafeEqual (same bytes)",
} as const;
type RowName = (typeof ROW)[keyof typeof ROW];

const rows = new Map<RowName, Row>();

/** Shortens long function names (the grader's regular expressions) for the tables. */
const short = (name: string) => (name.length > 60 ? `${name.slice(0, 40)}…${name.slice(-16)}` : name);

function record(name: RowName, o: { rate: number; cpu: Record<string, number> }): void {
  let r = rows.get(name);
  if (r === undefined) rows.set(name, (r = { name, rates: [], cpus: [], ampdUs: [] }));
  r.rates.push(o.rate);
  r.cpus.push(o.cpu);
  if (o.cpu.ampd !== undefined) r.ampdUs.push((o.cpu.ampd / o.rate) * 1e6);
  const cpu = Object.entries(o.cpu).map(([k, v]) => `${k} ${pct(v)}`).join(" ");
  log(`  ${name.padEnd(62)} ${formatInt(o.rate).padStart(9)} /s  cpu ${cpu}`);
}

/** Per round, `a`'s rate over `b`'s. */
function ratios(a: RowName, b: RowName): number[] {
  const xs = rows.get(a)!.rates;
  const ys = rows.get(b)!.rates;
  return xs.map((x, i) => x / ys[i]);
}

const ratioText = (rs: number[]) => `${median(rs).toFixed(2)}x (${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)})`;

/** An ampd under test, the connection that publishes to it and the SDK client that reads its counters. */
interface Target {
  label: string;
  pid: number;
  socket: string;
  pub: AuthConn;
  control: AmpClient;
}

/** Publishes `msgs` to a new stream through `t`; checks ampd counted every add and no error; trims the stream. */
async function publishRow(t: Target, o: { stream: string; msgs: Uint8Array[] }): Promise<{ rate: number; cpu: Record<string, number> }> {
  const frames = addFrames(o.stream, o.msgs);
  const before = await t.control.info();
  const { seconds, cpu } = await timeWithCpu({ ampd: t.pid }, () => withTimeout(t.pub.publish(frames, INFLIGHT), { what: `${t.label} publish`, ms: TIMEOUT_MS }));
  const after = await t.control.info();
  const d = (k: string) => (after[k] as number) - (before[k] as number);
  check(d("added") === o.msgs.length && d("errors") === 0 && d("duplicates") === 0, `${t.label}: ${o.msgs.length} adds sent, ampd counted added ${d("added")}, errors ${d("errors")}, duplicates ${d("duplicates")}`);
  await dropStreams(t.control, [o.stream]);
  return { rate: o.msgs.length / seconds, cpu };
}

function rawEd(set: Signed, key: KeyObject): { rate: number; cpu: Record<string, number> } {
  const n = Math.min(VERIFY_N, set.data.length);
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  let bad = 0;
  for (let i = 0; i < n; i++) if (!cryptoVerify(null, set.data[i], key, set.sigs[i])) bad++;
  const s = (performance.now() - t0) / 1000;
  const u = process.cpuUsage(u0);
  check(bad === 0, `${bad} Ed25519 signatures did not verify`);
  return { rate: n / s, cpu: { client: (u.user + u.system) / 1e6 / s } };
}

function rawHmac(set: Signed, secret: Uint8Array): { rate: number; cpu: Record<string, number> } {
  const n = set.data.length;
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const mac = createHmac("sha256", secret).update(set.data[i]).digest();
    if (!timingSafeEqual(mac, set.sigs[i])) bad++;
  }
  const s = (performance.now() - t0) / 1000;
  const u = process.cpuUsage(u0);
  check(bad === 0, `${bad} HMACs did not verify`);
  return { rate: n / s, cpu: { client: (u.user + u.system) / 1e6 / s } };
}

// ---------------------------------------------------------------------------
// Latency of a client that does not sign

interface Probe {
  name: string;
  /** Per round: p50, p99, max (ms) and the samples. */
  rounds: { p50: number; p99: number; max: number; n: number; floodRate?: number }[];
}

const probes = new Map<string, Probe>();

function recordProbe(name: string, rtts: number[], floodRate?: number): void {
  const xs = [...rtts].sort((a, b) => a - b);
  let p = probes.get(name);
  if (p === undefined) probes.set(name, (p = { name, rounds: [] }));
  const r = { p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: xs[xs.length - 1], n: xs.length, floodRate };
  p.rounds.push(r);
  log(`  ${name.padEnd(62)} ping p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} max ${r.max.toFixed(1)} ms (${r.n} pings${floodRate ? `, flood ${formatInt(floodRate)}/s` : ""})`);
}

const PROBE = {
  idleKeyed: "idle, ampd with keyring",
  idlePlain: "idle, ampd without keyring",
  ed: "during a flood of Ed25519-signed adds (keyring)",
  hmac: "during a flood of HMAC-signed adds (keyring)",
  plain: "during a flood of unsigned adds (no keyring)",
} as const;

/** Pings from `probe` while `flood` publishes `msgs` to a new stream; the pings stop when the flood ends. */
async function probeDuring(t: Target, probe: AuthConn, o: { stream: string; msgs: Uint8Array[] }): Promise<{ rtts: number[]; rate: number }> {
  const frames = addFrames(o.stream, o.msgs);
  const t0 = performance.now();
  const flood = t.pub.publish(frames, INFLIGHT);
  const done = flood.then(() => performance.now());
  const rtts = await probe.probe({ rate: RATE, seconds: 600, stop: flood });
  const end = await done;
  await dropStreams(t.control, [o.stream]);
  return { rtts, rate: o.msgs.length / ((end - t0) / 1000) };
}

// ---------------------------------------------------------------------------
// Profile

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * The profile cut to the adds: from the first sample with `admitAdd` on its
 * stack to the last (start-up, module loading and shutdown left out).
 */
function addWindow(p: Profile): Profile {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const adds = new Map<number, boolean>();
  const inAdd = (id: number): boolean => {
    let v = adds.get(id);
    if (v === undefined) {
      const n = byId.get(id);
      const up = parent.get(id);
      v = n !== undefined && (n.callFrame.functionName === "admitAdd" || (up !== undefined && inAdd(up)));
      adds.set(id, v);
    }
    return v;
  };
  let first = -1;
  let last = -1;
  p.samples.forEach((id, i) => {
    if (!inAdd(id)) return;
    if (first < 0) first = i;
    last = i;
  });
  if (first < 0) throw new Error("no sample of admitAdd in the profile");
  return { nodes: p.nodes, samples: p.samples.slice(first, last + 1), timeDeltas: p.timeDeltas.slice(first, last + 1) };
}

/** Per function, the share of samples in which it is anywhere on the stack (each sample counted once per function). */
function inclusive(p: Profile): { total: number; fns: Map<string, number> } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const fns = new Map<string, number>();
  let total = 0;
  for (const id of p.samples) {
    total++;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at);
      if (n === undefined) break;
      const name = frameName(n.callFrame);
      if (seen.has(name)) continue;
      seen.add(name);
      fns.set(name, (fns.get(name) ?? 0) + 1);
    }
  }
  return { total, fns };
}

interface ProfileResult {
  alg: string;
  file: string;
  adds: number;
  /** ampd CPU seconds over the timed publish. */
  cpuSeconds: number;
  seconds: number;
  text: string[];
}

async function profileRun(o: { alg: string; ringPath: string; key: Key; admin: Key; set: Signed; dir: string }): Promise<ProfileResult> {
  const name = `ampd-trust-${o.alg}.cpuprofile`;
  log(`profile: ampd from source under bun --cpu-prof, ${o.set.bytes.length} ${o.alg}-signed adds`);
  const ampd = await ProfiledAmpd.start(["--backend", "memory", "--keyring", o.ringPath, "--require-sig"], { profileDir: o.dir, name });
  const control = await connect({ socket: ampd.socket, name: "bench-control", agent: o.admin.agent, key: o.admin.signing });
  const pub = await AuthConn.open(ampd.socket, { name: "bench-pub", agent: o.key.agent, key: o.key.signing });
  // Warm-up: a fifth of the messages, on their own stream.
  const warm = Math.floor(o.set.bytes.length / 5);
  await pub.publish(addFrames("bench.prof.warm", o.set.bytes.slice(0, warm)), INFLIGHT);
  await dropStreams(control, ["bench.prof.warm"]);
  const msgs = o.set.bytes.slice(warm);
  const c0 = cpuSeconds(ampd.pid);
  const t0 = performance.now();
  await withTimeout(pub.publish(addFrames("bench.prof", msgs), INFLIGHT), { what: "profile publish", ms: TIMEOUT_MS });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(ampd.pid) - c0;
  const info = await control.info();
  check(info.errors === 0, `profiled ampd counted ${info.errors} errors`);
  pub.close();
  await control.close();
  await ampd.stop();
  const file = join(o.dir, name);
  const whole = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const profile = addWindow(whole);
  const self = selfTimes(profile, 2);
  const inc = inclusive(profile);
  // A share of the samples (of the adds' window: warm-up and timed adds) times ampd's CPU per timed add.
  const perAdd = (samples: number) => (samples / self.total) * ((cpu / msgs.length) * 1e6);
  const text: string[] = [];
  text.push(`${o.alg}: ${msgs.length} timed adds at ${formatInt(msgs.length / seconds)}/s, ampd ${(cpu / msgs.length * 1e6).toFixed(1)} µs CPU per add; profile ${self.total} of ${whole.samples.length} samples (those from the first add to the last: warm-up and timed adds), ${file}`);
  text.push("");
  text.push("self time (innermost frame), top 15; µs per add = share × ampd's CPU per add:");
  text.push("");
  text.push(formatTable(["function", "self share", "µs per add", "called via (top)"], self.fns.slice(0, 15).map((f) => {
    const via = [...f.via.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "";
    return [short(f.name), pct(f.samples / self.total), perAdd(f.samples).toFixed(2), via.length > 70 ? `${via.slice(0, 67)}...` : via];
  })));
  text.push("");
  const keys = ["admitAdd", "verifyWith", "verify (native)", "encodeValid", "checkSpec", "grade", "admit", "decode", "assertValid", "storedHeaders", "add (memory.ts", "onData", "#onFrame", "#reply", "authorizeOp"];
  const incRows = [...inc.fns.entries()]
    .filter(([n]) => keys.some((k) => n === k || n.startsWith(`${k} (`) || n.startsWith(k)))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 16);
  text.push("inclusive time (anywhere on the stack) of the add path's steps:");
  text.push("");
  text.push(formatTable(["function", "inclusive share", "µs per add"], incRows.map(([n, s]) => [short(n), pct(s / inc.total), perAdd(s).toFixed(2)])));
  return { alg: o.alg, file, adds: msgs.length, cpuSeconds: cpu, seconds, text };
}

// ---------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const started = performance.now();
  const load0 = loadAverage();
  log("building dist/ampd if missing or stale...");
  await buildAmpd();
  const noise = await timerNoise();

  const ed = await makeKey("bench-ed", "ed25519");
  const hm = await makeKey("bench-hmac", "hmac-sha256");
  const probeKey = await makeKey("bench-probe", "ed25519");
  const admin = await makeKey("bench-admin", "ed25519");
  const dir = scratchDir("ampbus-bench-trust-");
  const ringPath = join(dir, "keyring.json");
  const agent = (k: Key, extra: Record<string, unknown> = {}) => ({ keys: [k.entry], publish: [">"], subscribe: [">"], ...extra });
  writeFileSync(ringPath, JSON.stringify({ agents: { [ed.agent]: agent(ed), [hm.agent]: agent(hm), [probeKey.agent]: agent(probeKey), [admin.agent]: agent(admin, { admin: true }) } }, null, 2), { mode: 0o600 });

  log(`signing ${N} messages with Ed25519 and ${N} with HMAC, encoding ${N} unsigned...`);
  const plainSet = await signedSet(N, undefined);
  const edSet = await signedSet(N, ed);
  const hmSet = await signedSet(N, hm);
  const edKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(ed.material).toString("base64url") }, format: "jwk" });
  const sizes = { plain: plainSet.bytes[0].length, ed: edSet.bytes[0].length, hmac: hmSet.bytes[0].length, signed: edSet.data[0].length };

  const plainAmpd = await startAmpd(["--backend", "memory"]);
  const keyedAmpd = await startAmpd(["--backend", "memory", "--keyring", ringPath, "--require-sig"]);
  const sdk = async (socket: string, k?: Key) => {
    const c = await connect({ socket, name: "bench-control", ...(k ? { agent: k.agent, key: k.signing } : {}) });
    cleanups.push(() => c.close().catch(() => {}));
    return c;
  };
  const conn = async (socket: string, name: string, k?: Key) => {
    const c = await AuthConn.open(socket, { name, ...(k ? { agent: k.agent, key: k.signing } : {}) });
    cleanups.push(() => c.close());
    return c;
  };
  const plain: Target = { label: "no keyring", pid: plainAmpd.pid, socket: plainAmpd.socket, pub: await conn(plainAmpd.socket, "bench-pub"), control: await sdk(plainAmpd.socket) };
  const keyedControl = await sdk(keyedAmpd.socket, admin);
  const edT: Target = { label: "keyring, Ed25519", pid: keyedAmpd.pid, socket: keyedAmpd.socket, pub: await conn(keyedAmpd.socket, "bench-pub-ed", ed), control: keyedControl };
  const hmT: Target = { label: "keyring, HMAC", pid: keyedAmpd.pid, socket: keyedAmpd.socket, pub: await conn(keyedAmpd.socket, "bench-pub-hmac", hm), control: keyedControl };
  const probePlain = await conn(plainAmpd.socket, "bench-probe");
  const probeKeyed = await conn(keyedAmpd.socket, "bench-probe", probeKey);

  log("warm-up: a fifth of each set through each ampd");
  const w = Math.floor(N / 5);
  await publishRow(plain, { stream: "bench.warm.plain", msgs: plainSet.bytes.slice(0, w) });
  await publishRow(edT, { stream: "bench.warm.ed", msgs: edSet.bytes.slice(0, w) });
  await publishRow(hmT, { stream: "bench.warm.hmac", msgs: hmSet.bytes.slice(0, w) });
  rawEd(edSet, edKey);
  rawHmac(hmSet, hm.material);

  const order: RowName[] = [ROW.plain, ROW.rawEd, ROW.ed, ROW.rawHmac, ROW.hmac];
  // The steps of a round, rotated by one each round. The raw Ed25519 rate is taken just before and just after
  // ampd's Ed25519 row (the round's figure is their mean), so the ratio compares rates measured moments apart.
  const steps: (() => Promise<void>)[] = [
    async () => record(ROW.plain, await publishRow(plain, { stream: `bench.trust.plain.${round}`, msgs: plainSet.bytes })),
    async () => {
      const before = rawEd(edSet, edKey);
      const row = await publishRow(edT, { stream: `bench.trust.ed.${round}`, msgs: edSet.bytes });
      const after = rawEd(edSet, edKey);
      log(`  (raw Ed25519 verify ${formatInt(before.rate)}/s before, ${formatInt(after.rate)}/s after)`);
      record(ROW.rawEd, { rate: (before.rate + after.rate) / 2, cpu: { client: (before.cpu.client + after.cpu.client) / 2 } });
      record(ROW.ed, row);
    },
    async () => record(ROW.rawHmac, rawHmac(hmSet, hm.material)),
    async () => record(ROW.hmac, await publishRow(hmT, { stream: `bench.trust.hmac.${round}`, msgs: hmSet.bytes })),
  ];
  let round = 0;
  for (; round < ROUNDS; round++) {
    log(`round ${round + 1}/${ROUNDS}: ${N} adds per ampd row, ${INFLIGHT} in flight; ${VERIFY_N} Ed25519 (twice) / ${N} HMAC verifies in process`);
    for (let i = 0; i < steps.length; i++) await steps[(i + round) % steps.length]();
  }

  for (let r = 0; r < ROUNDS; r++) {
    log(`latency round ${r + 1}/${ROUNDS}: pings at ${RATE}/s from a client that does not sign`);
    const steps: (() => Promise<void>)[] = [
      async () => recordProbe(PROBE.idleKeyed, await probeKeyed.probe({ rate: RATE, seconds: IDLE_S })),
      async () => {
        const x = await probeDuring(edT, probeKeyed, { stream: `bench.flood.ed.${r}`, msgs: edSet.bytes });
        recordProbe(PROBE.ed, x.rtts, x.rate);
      },
      async () => {
        const x = await probeDuring(hmT, probeKeyed, { stream: `bench.flood.hmac.${r}`, msgs: hmSet.bytes });
        recordProbe(PROBE.hmac, x.rtts, x.rate);
      },
      async () => recordProbe(PROBE.idlePlain, await probePlain.probe({ rate: RATE, seconds: IDLE_S })),
      async () => {
        const x = await probeDuring(plain, probePlain, { stream: `bench.flood.plain.${r}`, msgs: plainSet.bytes });
        recordProbe(PROBE.plain, x.rtts, x.rate);
      },
    ];
    for (let i = 0; i < steps.length; i++) await steps[(i + r) % steps.length]();
  }

  const profiles: ProfileResult[] = [];
  if (PROFILE_DIR !== undefined) {
    profiles.push(await profileRun({ alg: "ed25519", ringPath, key: ed, admin, set: edSet, dir: PROFILE_DIR }));
    profiles.push(await profileRun({ alg: "hmac-sha256", ringPath, key: hm, admin, set: hmSet, dir: PROFILE_DIR }));
  }

  // ----- report
  const out: string[] = [];
  const bunVersion = (process.versions as Record<string, string>).bun ?? process.version;
  out.push(`## Trust benchmark (Bun ${bunVersion}, --backend memory, ${N} messages per ampd row, ${INFLIGHT} in flight, median of ${ROUNDS} rounds)`);
  out.push("");
  out.push(`Messages: the seed, ${sizes.plain} B unsigned, ${sizes.ed} B Ed25519-signed, ${sizes.hmac} B HMAC-signed (the signed bytes, without sig: ${sizes.signed} B).`);
  out.push("");
  out.push("### acked publish and raw verify (per second; CPU = median share of one core; ampd µs = ampd's CPU per add)");
  out.push("");
  out.push(formatTable(
    ["path", "rate /s", "min–max", "spread", "CPU bench / ampd", "ampd µs per add"],
    order.map((n) => {
      const r = rows.get(n)!;
      const cpu = (k: string) => r.cpus[0][k] === undefined ? "—" : pct(median(r.cpus.map((c) => c[k])));
      return [n, formatInt(median(r.rates)), `${formatInt(Math.min(...r.rates))}–${formatInt(Math.max(...r.rates))}`, spreadText(spread(r.rates)), `${cpu("client")} / ${cpu("ampd")}`, r.ampdUs.length ? median(r.ampdUs).toFixed(2) : (1e6 / median(r.rates)).toFixed(2) + " (per op)"];
    }),
  ));
  out.push("");
  const edVsRaw = ratios(ROW.ed, ROW.rawEd);
  const hmVsPlain = ratios(ROW.hmac, ROW.plain);
  const edVsPlain = ratios(ROW.ed, ROW.plain);
  out.push("### ratios, within each round (median (min–max))");
  out.push("");
  out.push(formatTable(["ratio", "value"], [
    ["Ed25519 acked publish / raw Ed25519 verify", ratioText(edVsRaw)],
    ["HMAC acked publish / unverified (no keyring) publish", ratioText(hmVsPlain)],
    ["Ed25519 acked publish / unverified publish", ratioText(edVsPlain)],
  ]));
  out.push("");
  out.push(`### a client that does not sign: ping round trip at ${RATE}/s on its own connection (ms; median over rounds of each round's figure)`);
  out.push("");
  out.push(`Machine noise: an idle setTimeout(1) fired late by p50 ${noise.p50.toFixed(3)} ms, p99 ${noise.p99.toFixed(3)} ms, max ${noise.max.toFixed(2)} ms.`);
  out.push("");
  const pm = (p: Probe, k: "p50" | "p99" | "max") => median(p.rounds.map((x) => x[k]));
  out.push(formatTable(
    ["while", "pings", "p50", "p99", "p99 per round", "max", "flood adds/s"],
    Object.values(PROBE).map((name) => {
      const p = probes.get(name)!;
      const fr = p.rounds.map((x) => x.floodRate).filter((x): x is number => x !== undefined);
      return [name, String(median(p.rounds.map((x) => x.n))), pm(p, "p50").toFixed(2), pm(p, "p99").toFixed(2), p.rounds.map((x) => x.p99.toFixed(1)).join(", "), pm(p, "max").toFixed(1), fr.length ? formatInt(median(fr)) : ""];
    }),
  ));
  out.push("");
  out.push("### targets");
  const verdict = (ok: boolean, text: string) => `- ${ok ? "met" : "MISSED"}: ${text}`;
  const by = (value: number, target: number) => (value >= target ? `(+${((value / target - 1) * 100).toFixed(0)}% over it)` : `(missed by ${((1 - value / target) * 100).toFixed(0)}%)`);
  const edRate = median(rows.get(ROW.ed)!.rates);
  const hmRate = median(rows.get(ROW.hmac)!.rates);
  out.push(verdict(median(edVsRaw) >= 0.85, `Ed25519 acked publish ${formatInt(edRate)}/s = ${ratioText(edVsRaw)} of raw single-core verify ${formatInt(median(rows.get(ROW.rawEd)!.rates))}/s (target >= 0.85x) ${by(median(edVsRaw), 0.85)}`));
  out.push(verdict(median(hmVsPlain) >= 0.7, `HMAC acked publish ${formatInt(hmRate)}/s = ${ratioText(hmVsPlain)} of unverified ${formatInt(median(rows.get(ROW.plain)!.rates))}/s (target >= 0.7x) ${by(median(hmVsPlain), 0.7)}`));
  const idle = probes.get(PROBE.idleKeyed)!;
  for (const name of [PROBE.ed, PROBE.hmac]) {
    const f = probes.get(name)!;
    const allowed = pm(idle, "p99") + noise.p99;
    out.push(verdict(pm(f, "p99") <= allowed, `non-signing client's ping p99 ${pm(f, "p99").toFixed(2)} ms ${name} vs ${pm(idle, "p99").toFixed(2)} ms idle (target: within noise, i.e. <= idle p99 + timer-noise p99 ${noise.p99.toFixed(2)} = ${allowed.toFixed(2)} ms; ${(pm(f, "p99") / pm(idle, "p99")).toFixed(1)}x idle)`));
  }
  if (profiles.length > 0) {
    out.push("");
    out.push("### where ampd's time goes per add (bun --cpu-prof, ampd from source)");
    for (const p of profiles) {
      out.push("");
      out.push(...p.text);
    }
  }
  out.push("");
  out.push(runSummary(started, load0));
  console.log(out.join("\n"));
}

try {
  await main();
} finally {
  await cleanupAll();
}
