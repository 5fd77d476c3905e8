/**
 * Helpers of the live-view suites: ampd with `--http`, a mirror watcher
 * that collects frames, and headless Chromium through playwright-core
 * (skipped with a printed reason when absent, except under CI, where it fails;
 * `npm test` installs Debian's chromium first, as root on Debian), with the
 * ampd, browser and client a browser suite starts and stops.
 */
import { afterAll, beforeAll } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { type AISPMessage, type AmpClient, connect, fromBase64, newAgentKey, parseKeyFile, proveAuth, type SigningKey, toBase64 } from "../../mod.ts";
import { Ampd } from "../_helpers/ampd.ts";

/** Starts the compiled ampd (memory backend) with `--http 127.0.0.1:0` unless `args` has `--http`; returns it with its base URL. */
export async function startLive(args: string[] = []): Promise<{ ampd: Ampd; http: string }> {
  const http = args.includes("--http") ? [] : ["--http", "127.0.0.1:0"];
  const ampd = await Ampd.start({ args: ["--backend", "memory", ...http, ...args] });
  const m = /^ampd http (\S+)$/m.exec(ampd.stdout);
  if (!m) throw new Error(`ampd printed no http line:\n${ampd.stdout}\n${ampd.stderr}`);
  return { ampd, http: m[1] };
}

/** One frame of /ws/mirror. */
export type MirrorFrame = {
  stream?: string;
  entryId?: string;
  size?: number;
  message?: AISPMessage;
  dropped?: number;
  filter?: unknown;
  error?: { code: string; message: string };
  /** With a keyring: ampd's first frame, the nonce to sign. */
  auth?: { nonce: string };
  /** With a keyring: the agent the watcher proved to be. */
  authenticated?: { agent: string; kid: string };
};

/** A /ws/mirror client that keeps every frame. */
export class Watcher {
  readonly frames: MirrorFrame[] = [];
  readonly ws: WebSocket;
  /** Resolves when the socket closes, with ampd's close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  #opened: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.onmessage = (e) => this.frames.push(JSON.parse(String(e.data)));
    this.#opened = new Promise((resolve, reject) => {
      this.ws.onopen = () => resolve();
      this.ws.onerror = () => reject(new Error(`cannot open ${url}`));
    });
    this.closed = new Promise((resolve) => (this.ws.onclose = (e) => resolve({ code: e.code, reason: e.reason })));
  }

  /** With a keyring: the nonce of ampd's first frame. */
  async nonce(): Promise<Uint8Array> {
    await this.#opened;
    const [f] = await this.waitFor((x) => x.auth !== undefined);
    return fromBase64(f.auth!.nonce)!;
  }

  /** Sends a JSON text frame. */
  send(value: unknown): void {
    this.ws.send(JSON.stringify(value));
  }

  /**
   * With a keyring: answers the nonce with a proof made with `key` for `agent`
   * (`kid` defaults to the key's); returns the answer sent.
   */
  async answer(agent: string, key: SigningKey, kid = key.kid): Promise<{ auth: { agent: string; kid: string; proof: string } }> {
    const proof = await proveAuth(key, { agent, nonce: await this.nonce() });
    const a = { auth: { agent, kid, proof: toBase64(proof) } };
    this.send(a);
    return a;
  }

  /** With a keyring: authenticates and waits for the `{filter}` greeting that follows. */
  async login(agent: string, key: SigningKey): Promise<this> {
    await this.answer(agent, key);
    const [f] = await this.waitFor((x) => x.authenticated !== undefined || x.error !== undefined);
    if (f.error) throw new Error(`mirror auth refused: ${f.error.code}: ${f.error.message}`);
    await this.waitFor((x) => x.filter !== undefined);
    return this;
  }

  /** Waits for an error frame, then for ampd to close; returns both. */
  async refused(): Promise<{ code: string; message: string; close: number; reason: string }> {
    const [f] = await this.waitFor((x) => x.error !== undefined);
    const c = await this.closed;
    return { ...f.error!, close: c.code, reason: c.reason };
  }

  /** Resolves once open and the first `{filter}` frame (ampd's greeting) arrived. */
  async ready(): Promise<this> {
    await this.#opened;
    await this.waitFor((f) => f.filter !== undefined);
    return this;
  }

  /** Messages received, in order. */
  get messages(): MirrorFrame[] {
    return this.frames.filter((f) => f.message !== undefined);
  }

  async waitFor(pred: (f: MirrorFrame) => boolean, count = 1, timeoutMs = 5000): Promise<MirrorFrame[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hits = this.frames.filter(pred);
      if (hits.length >= count) return hits;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} frame(s); have ${JSON.stringify(this.frames).slice(0, 500)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.ws.close();
  }
}

/** A message for the tests. */
export function testMessage(i: number, extra: Partial<AISPMessage> = {}): AISPMessage {
  return {
    v: 1,
    id: `msg-${i}-${crypto.randomUUID()}`,
    opId: `op-${i}-${crypto.randomUUID()}`,
    type: "task",
    sender: "coder",
    receiver: "tester",
    timestamp: Date.now(),
    ...extra,
  };
}

/** Where Chromium is: `$CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Why the browser suites cannot run here, or undefined when they can.
 * Under CI (`CI` set, as the other suites read it) a missing browser is an error, not a skip.
 */
export async function browserMissing(): Promise<string | undefined> {
  let why: string | undefined;
  if (!existsSync(CHROMIUM)) why = `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH; npm test installs it, as root on Debian)`;
  else {
    try {
      await loadPlaywright();
    } catch {
      why = "playwright-core is not installed (npm install)";
    }
  }
  if (why !== undefined && process.env.CI) throw new Error(`browser tests must run in CI: ${why}`);
  if (why !== undefined) console.log(`skipping browser tests: ${why}`);
  return why;
}

// Through a variable, so that type-checking does not need playwright-core installed.
// deno-lint-ignore no-explicit-any
async function loadPlaywright(): Promise<any> {
  const name = "playwright-core";
  return await import(name);
}

/** Launches headless Chromium (a playwright `Browser`). */
// deno-lint-ignore no-explicit-any
export async function launchChromium(): Promise<any> {
  const { chromium } = await loadPlaywright();
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** What a browser suite runs against; filled in by the `beforeAll` of `liveBrowserSuite()`. */
export interface LiveBrowser {
  ampd: Ampd;
  /** ampd's base URL. */
  http: string;
  /** Headless Chromium (a playwright `Browser`). */
  // deno-lint-ignore no-explicit-any
  browser: any;
  /** A client on ampd's Unix socket. */
  bus: AmpClient;
}

/**
 * Registers, in the calling `describe`, a `beforeAll` that starts ampd
 * (`startLive(o.args)`), headless Chromium and a client named `o.name`, and
 * an `afterAll` that closes whichever of them started, last first.
 */
export function liveBrowserSuite(o: { name: string; args?: string[] }): LiveBrowser {
  const env = {} as Partial<LiveBrowser>;
  beforeAll(async () => {
    ({ ampd: env.ampd, http: env.http } = await startLive(o.args));
    env.browser = await launchChromium();
    env.bus = await connect({ socket: env.ampd.socket, name: o.name });
  }, 30_000);
  afterAll(async () => {
    await env.bus?.close();
    await env.browser?.close();
    await env.ampd?.dispose();
  });
  return env as LiveBrowser;
}

/** An agent of a test keyring: its key file text, its key, and its keyring entry. */
export interface TestAgent {
  name: string;
  keyFile: string;
  key: SigningKey;
  entry: Record<string, string>;
}

/** Makes a key for `name` (kid `<name>-1`) with `newAgentKey`. */
export async function makeAgent(name: string, alg: "ed25519" | "hmac-sha256" = "ed25519"): Promise<TestAgent> {
  const m = await newAgentKey({ agent: name, kid: `${name}-1`, alg });
  return { name, keyFile: m.keyFile, key: (await parseKeyFile(m.keyFile)).key, entry: m.keyringKey };
}

/** Writes a keyring of `agents` (each with its rules: publish, subscribe, admin) to `path`. */
export function writeKeyring(path: string, agents: TestAgent[], rules: Record<string, Record<string, unknown>> = {}): void {
  const out: Record<string, unknown> = {};
  for (const a of agents) out[a.name] = { keys: [a.entry], ...rules[a.name] };
  writeFileSync(path, JSON.stringify({ agents: out }, null, 2));
}
