/**
 * Builds the npm form of the SDK (`dist/mod.js`, `tsc -p tsconfig.build.json`)
 * for tests that run agents on Node, once per process and only when it is
 * missing or older than `mod.ts` or a source under `sdk/`.
 *
 * @example
 * ```ts
 * await buildSdkForNode(); // then: node tests/agents/agent.mjs ...
 * ```
 *
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./ampd.ts";

function newestTs(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestTs(p));
    else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

let built: Promise<void> | undefined;

/** Runs `tsc -p tsconfig.build.json` when `dist/mod.js` is missing or stale. */
export function buildSdkForNode(): Promise<void> {
  built ??= (async () => {
    const out = join(ROOT, "dist", "mod.js");
    const sources = Math.max(newestTs(join(ROOT, "sdk")), statSync(join(ROOT, "mod.ts")).mtimeMs);
    if (existsSync(out) && statSync(out).mtimeMs >= sources) return;
    const tsc = join(ROOT, "node_modules", ".bin", "tsc");
    const child = spawn(existsSync(tsc) ? tsc : "tsc", ["-p", "tsconfig.build.json"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    if (code === 0) return;
    // tsc still emits on type errors; those are the typecheck's to report (npm run check), not this test's.
    if (existsSync(out) && statSync(out).mtimeMs >= sources) {
      console.warn(`tsc -p tsconfig.build.json reported errors (exit ${code}); using the emitted dist/mod.js:\n${output}`);
      return;
    }
    throw new Error(`tsc -p tsconfig.build.json failed (exit ${code}):\n${output}`);
  })();
  return built;
}
