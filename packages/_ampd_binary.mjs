/**
 * Builds the ampd binary from this checkout (`bun build --compile`, what
 * `npm run build:sidecar` runs), only when it is missing or older than a source.
 * Shared by `npm start` (scripts/start.mjs), the `npx ampd` launcher in a
 * checkout and the prepack of the platform packages.
 *
 * @example
 * ```js
 * const bin = ensureAmpd(); // <root>/dist/ampd, fresh
 * ```
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith(".ts") || e.name.endsWith(".html")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** True when `binary` is missing or older than a source of ampd (sidecar/, sdk/, package.json). */
export function isStale(binary) {
  if (!existsSync(binary)) return true;
  const sources = Math.max(
    newestSource(join(ROOT, "sidecar")),
    newestSource(join(ROOT, "sdk")),
    statSync(join(ROOT, "package.json")).mtimeMs,
  );
  return statSync(binary).mtimeMs < sources;
}

/** Where `bun` is: this process when it is Bun, else the devDependency's, else PATH. */
function bunCommand() {
  if (process.versions.bun) return process.execPath;
  const local = join(ROOT, "node_modules", ".bin", process.platform === "win32" ? "bun.exe" : "bun");
  return existsSync(local) ? local : "bun";
}

/**
 * Compiles ampd to `outfile` (default `dist/ampd`) when stale and returns its
 * path. `target` is a `bun build --target` such as `bun-darwin-arm64` (for a
 * platform other than this one Bun downloads that runtime: it needs the
 * network). The binary is written beside `outfile` and renamed over it, so a
 * concurrent run never starts a half-written file.
 */
export function ensureAmpd({ outfile = join(ROOT, "dist", "ampd"), target, log = console.error } = {}) {
  if (!isStale(outfile)) return outfile;
  log(`building ${outfile.slice(ROOT.length + 1)}${target ? ` for ${target}` : ""} ...`);
  mkdirSync(dirname(outfile), { recursive: true });
  const tmp = `${outfile}.build-${process.pid}`;
  const args = ["build", "--compile", "--minify", ...(target ? [`--target=${target}`] : []), "sidecar/main.ts", "--outfile", tmp];
  const r = spawnSync(bunCommand(), args, { cwd: ROOT, stdio: ["ignore", 2, 2] /* build output is not ampd's stdout */ });
  // bun appends .exe for Windows targets
  const written = existsSync(tmp) ? tmp : `${tmp}.exe`;
  if (r.status !== 0 || !existsSync(written)) {
    rmSync(written, { force: true });
    throw new Error(`bun ${args.join(" ")} failed (exit ${r.status ?? r.error?.message})`);
  }
  renameSync(written, outfile);
  return outfile;
}
