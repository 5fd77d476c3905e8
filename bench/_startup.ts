/**
 * Start-up times: `ampd` spawned fresh to a socket that answers `hello`
 * (also to its ready line, and ampd's own "ready in" log), and
 * `nats-server -js` to a PING and a JetStream request answered
 * (`NatsServer.timeStart()` in `_nats.ts`).
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FrameConn } from "./_frames.ts";
import { withTimeout } from "./_proc.ts";

/** Spawn to a socket that answers hello; also the time to the ready line and ampd's own "ready in" log (ms). */
export async function timeAmpdStart(bin: string, args: string[]): Promise<{ hello: number; readyLine: number; internal: number }> {
  const dir = mkdtempSync(join(tmpdir(), "ampbus-bench-start-"));
  const socket = join(dir, "ampd.sock");
  let child: ChildProcess | undefined;
  try {
    const t0 = performance.now();
    child = spawn(bin, [...args, "--socket", socket], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, REDIS_URL: "", AMPD_TOKEN: "" },
    });
    const c = child;
    let stderr = "";
    c.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        let out = "";
        c.stdout!.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("ampd ready")) resolve();
        });
        c.once("exit", (code) => reject(new Error(`ampd exited with ${code} during start:\n${stderr}`)));
      }),
      { what: "ampd start", ms: 10_000 },
    );
    const readyLine = performance.now() - t0;
    const conn = await FrameConn.open(socket, "bench-start");
    const hello = performance.now() - t0;
    conn.close();
    const internal = Number(/ready in ([\d.]+) ms/.exec(stderr)?.[1] ?? NaN);
    c.kill("SIGTERM");
    await withTimeout(exited, { what: "ampd stop", ms: 10_000 });
    return { hello, readyLine, internal };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}
