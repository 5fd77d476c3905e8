#!/usr/bin/env node
// `npm test` runs this first: it checks the system pieces the tests need that
// npm cannot install (Bun and Deno come from npm). When one is missing and we
// are root on Debian, it installs them (`apt-get update` once, then
// `apt-get install -y`); otherwise it stops at once with the exact command to
// run. A missing piece is never a skip here, in CI or not. Plain Node, no
// dependencies, so it runs before anything else is built or installed.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const PYTHON = "/usr/bin/python3"; // the Python tests use the system interpreter, not the first on PATH
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** What the tests need: how to tell it is there, and the Debian packages that provide it. */
const PIECES = [
  { name: "redis-server", usedBy: "the Redis backend tests", packages: ["redis-server"], present: () => runs("redis-server", ["--version"]) },
  { name: "redis-cli", usedBy: "forming the Redis Cluster of the cluster tests", packages: ["redis-tools"], present: () => runs("redis-cli", ["--version"]) },
  { name: "zsh", usedBy: "checking the zsh completion script (zsh -n)", packages: ["zsh"], present: () => runs("zsh", ["--version"]) },
  {
    name: "chromium",
    usedBy: "the live view's browser tests",
    // A CHROMIUM_PATH that points at nothing is the user's to fix: installing Debian's would not help.
    packages: process.env.CHROMIUM_PATH ? [] : ["chromium"],
    present: () => existsSync(CHROMIUM),
    missing: `no Chromium at ${CHROMIUM}`,
  },
  {
    name: "python3 msgpack redis cryptography",
    usedBy: "the Python client's tests",
    // cryptography: the Python client's Ed25519 (auth proofs and signatures, tests/python/trust.test.ts).
    packages: ["python3", "python3-msgpack", "python3-redis", "python3-cryptography"],
    present: () => runs(PYTHON, ["-c", "import msgpack, redis; from cryptography.hazmat.primitives.asymmetric import ed25519"]),
    missing: `${PYTHON} cannot import msgpack, redis and cryptography's ed25519`,
  },
  {
    name: "venv setuptools",
    usedBy: "installing the Python client into a virtualenv",
    packages: ["python3-venv", "python3-setuptools"],
    // Debian's python3 ships `venv` without `ensurepip`: that comes with python3-venv.
    present: () => runs(PYTHON, ["-c", "import ensurepip, venv, setuptools"]),
    missing: `${PYTHON} cannot import ensurepip, venv and setuptools`,
  },
];

function runs(command, args) {
  const r = spawnSync(command, args, { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
}

const missing = () => PIECES.filter((p) => !p.present());
const packagesOf = (pieces) => [...new Set(pieces.flatMap((p) => p.packages))];
const describe = (pieces) => pieces.map((p) => `${p.missing ?? `no ${p.name}`} (${p.usedBy})`).join("; ");

let lacking = missing();
if (lacking.length === 0) {
  console.log(`system: ${PIECES.map((p) => p.name).join(", ")}: present`);
  process.exit(0);
}

const packages = packagesOf(lacking);
const debian = existsSync("/etc/debian_version") && runs("apt-get", ["--version"]);
const root = process.getuid?.() === 0;
if (!debian || !root || lacking.some((p) => p.packages.length === 0)) {
  const apt = (sudo) => `${sudo}apt-get update && ${sudo}apt-get install -y ${packages.join(" ")}`;
  const how = lacking.some((p) => p.packages.length === 0)
    ? "set CHROMIUM_PATH to a Chromium binary or unset it"
    : debian
    ? `run: ${apt(root ? "" : "sudo ")}`
    : `install them with your package manager (on Debian: ${apt("sudo ")}${
      lacking.some((p) => p.name === "chromium") ? "; or point CHROMIUM_PATH at a Chromium" : ""
    })`;
  console.error(`system: the tests need what is missing here: ${describe(lacking)}.\n${how}, then npm test again`);
  process.exit(1);
}

console.log(`system: installing ${packages.join(" ")} (apt-get, as root) for ${lacking.map((p) => p.usedBy).join(", ")} ...`);
const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
for (const args of [["update", "-q"], ["install", "-y", "-q", ...packages]]) {
  const r = spawnSync("apt-get", args, { env, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    console.error(`${r.stdout ?? ""}${r.stderr ?? ""}`.trim());
    console.error(`system: apt-get ${args.join(" ")} failed (${r.error?.message ?? `exit ${r.status}`})`);
    process.exit(1);
  }
}
lacking = missing();
if (lacking.length > 0) {
  console.error(`system: still missing after apt-get install: ${describe(lacking)}`);
  process.exit(1);
}
console.log(`system: installed ${packages.join(" ")}`);
