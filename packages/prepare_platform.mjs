#!/usr/bin/env node
/**
 * Puts the ampd binary into a platform package (`bin/ampd`, `bin/ampd.exe` on
 * Windows) before `npm pack`: the prepack script of every
 * `packages/ampd-<os>-<cpu>/`, run in that directory. For this machine's
 * platform the binary is `dist/ampd` (built when stale); for another, Bun
 * cross-compiles with `--target=bun-<os>-<cpu>`, which downloads that
 * platform's Bun runtime (network needed).
 *
 * @example
 * ```sh
 * npm pack -w @ampbus/ampd-linux-x64     # runs: node ../prepare_platform.mjs
 * ```
 *
 * @module
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { ensureAmpd } from "./_ampd_binary.mjs";

const dir = process.cwd();
const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
const [os] = pkg.os ?? [];
const [cpu] = pkg.cpu ?? [];
if (!os || !cpu) throw new Error(`${pkg.name}: package.json needs "os" and "cpu" (one each)`);
const exe = os === "win32" ? "ampd.exe" : "ampd";
const out = join(dir, "bin", exe);
mkdirSync(join(dir, "bin"), { recursive: true });

if (os === process.platform && cpu === process.arch) {
  const built = ensureAmpd();
  const fresh = existsSync(out) && statSync(out).size === statSync(built).size && statSync(out).mtimeMs >= statSync(built).mtimeMs;
  if (!fresh) {
    const tmp = `${out}.copy-${process.pid}`;
    copyFileSync(built, tmp);
    chmodSync(tmp, 0o755);
    renameSync(tmp, out);
  }
} else {
  ensureAmpd({ outfile: out, target: `bun-${os === "win32" ? "windows" : os}-${cpu}` });
}
console.error(`${pkg.name}: bin/${exe} ${(statSync(out).size / 2 ** 20).toFixed(1)} MiB`);
