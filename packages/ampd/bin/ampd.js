#!/usr/bin/env node
/**
 * `npx ampd`: finds the ampd binary and runs it with these arguments, its exit
 * code (or signal) passed through. Looks, in order, at:
 *
 * 1. `AMPD_BINARY`, a path to an ampd binary (one built by hand, or for a
 *    platform without a package);
 * 2. the ampbus repository this launcher sits in (`packages/ampd/` of a
 *    checkout): `dist/ampd`, built when missing or older than its sources;
 * 3. the platform package `@ampbus/ampd-<os>-<cpu>` that npm installed from
 *    this package's optionalDependencies (esbuild and biome ship the same way).
 *
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(realpathSync(fileURLToPath(import.meta.url)));
const platformPackage = `@ampbus/ampd-${process.platform}-${process.arch}`;
const exe = process.platform === "win32" ? "ampd.exe" : "ampd";

/** The checkout's root when this file is `<root>/packages/ampd/bin/ampd.js` of the ampbus repository. */
function checkoutRoot() {
  const root = join(here, "..", "..", "..");
  try {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    return pkg.name === "ampbus" && existsSync(join(root, "sidecar", "main.ts")) ? root : undefined;
  } catch {
    return undefined;
  }
}

function fromPlatformPackage() {
  let dir;
  try {
    dir = dirname(createRequire(import.meta.url).resolve(`${platformPackage}/package.json`));
  } catch {
    return undefined;
  }
  const bin = join(dir, "bin", exe);
  return existsSync(bin) ? bin : undefined;
}

async function findBinary() {
  const explicit = process.env.AMPD_BINARY;
  if (explicit) {
    if (!existsSync(explicit)) fail(`AMPD_BINARY is ${explicit}, which does not exist`);
    return explicit;
  }
  const root = checkoutRoot();
  if (root !== undefined) {
    const { ensureAmpd } = await import(pathToFileURL(join(root, "packages", "_ampd_binary.mjs")).href);
    return ensureAmpd();
  }
  return fromPlatformPackage() ?? fail(
    `no ampd binary for ${process.platform}-${process.arch}: ${platformPackage} is not installed.\n` +
      `It is an optional dependency of @ampbus/ampd: reinstall without --omit=optional (or --no-optional).\n` +
      `Packages exist for: linux-x64. Elsewhere, build one from the repository ` +
      `(bun build --compile sidecar/main.ts --outfile ampd) and set AMPD_BINARY to its path.`,
  );
}

function fail(message) {
  console.error(`ampd: ${message}`);
  process.exit(127);
}

const binary = await findBinary();
const child = spawn(binary, process.argv.slice(2), { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("error", (e) => fail(`cannot run ${binary}: ${e.message}`));
child.on("exit", (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else process.exit(code ?? 1);
});
