#!/usr/bin/env node
// Runs a command beside a real ampd: builds dist/ampd when it is missing or
// older than its sources (as `npm run build:sidecar` does), starts it with the memory
// backend on a socket in a fresh temporary directory, runs the command with
// AMPD_SOCKET set, then stops ampd and removes the directory. The smoke
// suites run through it, so the runtime under test needs only the permissions
// a user's program needs to reach ampd, not the right to start processes.
//
//   node runtime-tests/with_ampd.mjs deno test --allow-net ... runtime-tests/
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { ensureAmpd } from "../packages/_ampd_binary.mjs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const binary = join(root, "dist", "ampd");
const [command, ...args] = process.argv.slice(2);
if (command === undefined) {
  console.error("usage: node runtime-tests/with_ampd.mjs <command> [args...]");
  process.exit(2);
}

// npm's deno and bun are found also outside `npm run` (as under `deno task`, which
// puts no deno on PATH).
function resolveCommand(name) {
  if (name === "node") return process.execPath;
  const local = join(root, "node_modules", ".bin", name);
  return existsSync(local) ? local : name;
}

// One build step for every way ampd is started (npm start, npx ampd, these suites).
try {
  ensureAmpd({ outfile: binary });
} catch (e) {
  console.error(`with_ampd: ${e.message}`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), "ampd-smoke-"));
const socket = join(dir, "ampd.sock");
const ampd = spawn(binary, ["--backend", "memory", "--socket", socket], {
  stdio: ["ignore", "pipe", "pipe"],
  env: { ...process.env, REDIS_URL: "", AMPD_TOKEN: "" },
});
let log = "";
ampd.stderr.on("data", (d) => (log += d));
const ampdExit = new Promise((resolve) => ampd.once("exit", (code, signal) => resolve(code ?? signal)));

function fail(why) {
  console.error(`with_ampd: ${why}\n--- ampd log ---\n${log}`);
  ampd.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}

const ready = await new Promise((resolve) => {
  let out = "";
  const timer = setTimeout(() => resolve("ampd printed no ready line within 10 s"), 10_000);
  ampd.stdout.on("data", (d) => {
    out += d;
    if (out.includes(`ampd ready ${socket}`)) {
      clearTimeout(timer);
      resolve(undefined);
    }
  });
  ampdExit.then((code) => {
    clearTimeout(timer);
    resolve(`ampd exited (${code}) before it was ready`);
  });
});
if (ready !== undefined) fail(ready);

const child = spawn(resolveCommand(command), args, {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, AMPD_SOCKET: socket },
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
const code = await new Promise((resolve) => {
  child.once("error", (e) => {
    console.error(`with_ampd: cannot run ${command}: ${e.message}`);
    resolve(1);
  });
  child.once("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0)));
});

if (ampd.exitCode !== null || ampd.signalCode !== null) fail(`ampd died during the run (${ampd.exitCode ?? ampd.signalCode})`);
ampd.kill("SIGTERM");
const stopped = await ampdExit;
rmSync(dir, { recursive: true, force: true });
if (stopped !== 0) {
  console.error(`with_ampd: ampd exited with ${stopped} on SIGTERM\n--- ampd log ---\n${log}`);
  process.exit(code || 1);
}
process.exit(code);
