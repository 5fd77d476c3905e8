/**
 * Helpers of the live-view suites: ampd with `--http`, a mirror watcher
 * that collects frames, and headless Chromium through playwright-core
 * (skipped with a printed reason when absent, except under CI, where it fails;
 * `npm test` installs Debian's chromium first, as root on Debian).
 */
import { existsSync } from "node:fs";
import type { AISPMessage } from "../../mod.ts";
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
export type MirrorFrame = { stream?: string; entryId?: string; size?: number; message?: AISPMessage; dropped?: number; filter?: unknown; error?: { code: string; message: string } };

/** A /ws/mirror client that keeps every frame. */
export class Watcher {
  readonly frames: MirrorFrame[] = [];
  readonly ws: WebSocket;
  #opened: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.onmessage = (e) => this.frames.push(JSON.parse(String(e.data)));
    this.#opened = new Promise((resolve, reject) => {
      this.ws.onopen = () => resolve();
      this.ws.onerror = () => reject(new Error(`cannot open ${url}`));
    });
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
