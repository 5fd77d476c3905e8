/**
 * The npm packages as `npm pack` makes them: the SDK tarball holds the ESM
 * build, its .d.ts files, README, LICENSE and docs, every relative import of
 * the build resolves inside the tarball, and no binary; the launcher
 * `@ampbus/ampd` is a few kB; the platform package `@ampbus/ampd-linux-x64`
 * holds the executable binary. The tarballs are then installed into a fresh
 * project, and `npx ampd` and `import "ampbus"` are run there.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../_helpers/ampd.ts";

interface PackedFile {
  path: string;
  size: number;
  mode: number;
}
interface Packed {
  name: string;
  version: string;
  filename: string;
  size: number;
  unpackedSize: number;
  files: PackedFile[];
}

const LAUNCHER = "@ampbus/ampd";
const PLATFORM = `@ampbus/ampd-${process.platform}-${process.arch}`;
const HAVE_PLATFORM = existsSync(join(ROOT, "packages", `ampd-${process.platform}-${process.arch}`));
const MiB = 2 ** 20;

const dir = mkdtempSync(join(tmpdir(), "ampbus-pack-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 64 * MiB, timeout: 300_000 });
  if (r.error) throw r.error;
  return r;
}

/** `npm pack --json` (a real pack into the temp dir: its listing is the one `--dry-run` prints). */
function pack(workspace?: string): Packed {
  const args = ["pack", "--json", "--pack-destination", dir, ...(workspace ? ["-w", workspace] : [])];
  const r = run("npm", args, ROOT);
  if (r.status !== 0) throw new Error(`npm ${args.join(" ")} failed (exit ${r.status}):\n${r.stderr}`);
  // Lifecycle scripts (prepack) print to stdout before the JSON.
  const [packed] = JSON.parse(r.stdout.slice(r.stdout.indexOf("[\n"))) as Packed[];
  return packed;
}

/** The module specifiers a built file imports or re-exports (static and dynamic), comments left out. */
function specifiers(file: string): string[] {
  const code = readFileSync(join(ROOT, file), "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return [...code.matchAll(/(?:^(?:import|export)\b[^;"]*?\bfrom\s*|^import\s*|\bimport\(\s*)"([^"]+)"/gm)].map((m) => m[1]);
}

const rootPkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
let sdk: Packed;
let launcher: Packed;
let platform: Packed | undefined;

beforeAll(() => {
  sdk = pack();
  launcher = pack(LAUNCHER);
  if (HAVE_PLATFORM) platform = pack(PLATFORM);
}, 600_000);

describe("the SDK tarball (ampbus)", () => {
  const paths = () => sdk.files.map((f) => f.path);

  test("holds the ESM build with a .d.ts beside every module, README, LICENSE and the docs", () => {
    expect(sdk.name).toBe("ampbus");
    expect(sdk.version).toBe(rootPkg.version);
    const p = paths();
    for (const f of ["package.json", "README.md", "LICENSE", "dist/mod.js", "dist/mod.d.ts", "dist/sdk/codec/codec.js", "dist/sdk/codec/codec.d.ts", "docs/protocol.md", "docs/storage.md"]) {
      expect(p).toContain(f);
    }
    const modules = readdirSync(join(ROOT, "sdk"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    expect(modules.length).toBeGreaterThan(30);
    const built = modules.flatMap((m) => {
      const base = `dist/sdk/${m.replaceAll("\\", "/").replace(/\.ts$/, "")}`;
      return [`${base}.js`, `${base}.d.ts`];
    });
    // Exactly these: a module left in dist/ by an older build (tsc does not delete) fails here; rm -rf dist and rebuild.
    expect(p.filter((f) => f.startsWith("dist/sdk/")).sort()).toEqual(built.sort());
  });

  test("holds nothing else: no binary, no sources, no tests; under 1 MiB unpacked", () => {
    const allowed = /^(package\.json|README\.md|LICENSE|dist\/mod\.(js|d\.ts)|dist\/sdk\/.+\.(js|d\.ts)|docs\/[^/]+\.md)$/;
    expect(paths().filter((p) => !allowed.test(p))).toEqual([]);
    expect(sdk.files.filter((f) => f.size > 100_000)).toEqual([]);
    expect(sdk.files.filter((f) => (f.mode & 0o111) !== 0)).toEqual([]);
    expect(sdk.unpackedSize).toBeLessThan(MiB);
  });

  test("every relative import of the build resolves to a file in the tarball", () => {
    const p = new Set(paths());
    const missing: string[] = [];
    for (const file of p) {
      if (!file.endsWith(".js") && !file.endsWith(".d.ts")) continue;
      for (const spec of specifiers(file).filter((s) => s.startsWith("."))) {
        let target = new URL(spec, `file:///${file}`).pathname.slice(1);
        // TypeScript resolves "./x.ts" and "./x.js" in a declaration file to ./x.d.ts
        if (file.endsWith(".d.ts")) target = target.replace(/\.(ts|js)$/, ".d.ts");
        if (!p.has(target)) missing.push(`${file} -> ${spec}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test("depends only on what the build imports", () => {
    const imported = new Set<string>();
    for (const f of paths().filter((f) => f.endsWith(".js"))) {
      for (const spec of specifiers(f)) {
        if (spec.startsWith(".") || spec.startsWith("node:")) continue;
        imported.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]);
      }
    }
    expect(Object.keys(rootPkg.dependencies).sort()).toEqual([...imported].sort());
    expect(rootPkg.bin).toBeUndefined();
  });
});

describe("the ampd packages", () => {
  test("the launcher is a few kB: its bin script, README, LICENSE", () => {
    expect(launcher.name).toBe(LAUNCHER);
    expect(launcher.files.map((f) => f.path).sort()).toEqual(["LICENSE", "README.md", "bin/ampd.js", "package.json"]);
    expect(launcher.unpackedSize).toBeLessThan(20_000);
  });

  test.skipIf(!HAVE_PLATFORM)("the platform package holds the executable binary", () => {
    expect(platform!.name).toBe(PLATFORM);
    const bin = platform!.files.find((f) => f.path === "bin/ampd");
    expect(bin?.size).toBeGreaterThan(10 * MiB);
    expect(bin!.mode & 0o111).toBe(0o111);
    expect(platform!.files.map((f) => f.path).sort()).toEqual(["LICENSE", "README.md", "bin/ampd", "package.json"]);
  });

  test("versions agree; the launcher lists every platform package at that exact version; LICENSE copies match", () => {
    const license = readFileSync(join(ROOT, "LICENSE"), "utf8");
    const launcherPkg = JSON.parse(readFileSync(join(ROOT, "packages", "ampd", "package.json"), "utf8"));
    expect(launcherPkg.version).toBe(rootPkg.version);
    const platforms = readdirSync(join(ROOT, "packages")).filter((d) => /^ampd-[a-z0-9]+-[a-z0-9]+$/.test(d));
    expect(platforms).toContain("ampd-linux-x64");
    const listed: Record<string, string> = {};
    for (const d of platforms) {
      const pkg = JSON.parse(readFileSync(join(ROOT, "packages", d, "package.json"), "utf8"));
      expect(pkg.name).toBe(`@ampbus/${d}`);
      expect(pkg.version).toBe(rootPkg.version);
      expect(`ampd-${pkg.os.join()}-${pkg.cpu.join()}`).toBe(d);
      expect(rootPkg.workspaces).toContain(`packages/${d}`);
      listed[pkg.name] = pkg.version;
      expect(readFileSync(join(ROOT, "packages", d, "LICENSE"), "utf8")).toBe(license);
    }
    expect(launcherPkg.optionalDependencies).toEqual(listed);
    for (const d of ["packages/ampd", "clients/python"]) expect(readFileSync(join(ROOT, d, "LICENSE"), "utf8")).toBe(license);
  });
});

describe.skipIf(!HAVE_PLATFORM)("installed from the tarballs into a fresh project", () => {
  const project = join(dir, "project");

  beforeAll(() => {
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "user-project", private: true, type: "module" }));
    const tarballs = [sdk, launcher, platform!].map((p) => join(dir, p.filename));
    const r = run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", ...tarballs], project);
    if (r.status !== 0) throw new Error(`npm install failed (exit ${r.status}):\n${r.stderr}`);
  }, 300_000);

  test("npx ampd runs the platform package's binary", () => {
    expect(existsSync(join(project, "node_modules", "@ampbus", `ampd-${process.platform}-${process.arch}`, "bin", "ampd"))).toBe(true);
    const r = run("npx", ["--no-install", "ampd", "--help"], project);
    expect(r.stderr).toBe("");
    expect(r.stdout).toStartWith(`ampd ${rootPkg.version}: the ampbus sidecar`);
    expect(r.status).toBe(0);
  });

  test("the launcher passes arguments, exit codes and signals through, and AMPD_BINARY wins", () => {
    const fake = join(dir, "fake-ampd");
    writeFileSync(fake, '#!/bin/sh\necho "fake $*"\n[ "$1" = term ] && kill -TERM $$\nexit 3\n', { mode: 0o755 });
    const exited = run("npx", ["--no-install", "ampd", "a", "b c"], project, { AMPD_BINARY: fake });
    expect(exited.stdout).toBe("fake a b c\n");
    expect(exited.status).toBe(3);
    const killed = run("node", [join(project, "node_modules", ".bin", "ampd"), "term"], project, { AMPD_BINARY: fake });
    expect(killed.signal).toBe("SIGTERM");
  });

  test("without its platform package the launcher names the package to install", () => {
    const moved = join(dir, "platform-aside");
    const installed = join(project, "node_modules", "@ampbus", `ampd-${process.platform}-${process.arch}`);
    run("mv", [installed, moved], dir);
    try {
      const r = run("node", [join(project, "node_modules", ".bin", "ampd"), "--help"], project);
      expect(r.status).toBe(127);
      expect(r.stderr).toContain(`${PLATFORM} is not installed`);
      expect(r.stderr).toContain("AMPD_BINARY");
    } finally {
      run("mv", [moved, installed], dir);
    }
  });

  test("import \"ampbus\" works on Node from the installed SDK", () => {
    const script = `import { AISPMessageBuilder, decode, encode, runtime } from "ampbus";
const msg = new AISPMessageBuilder().setSender("a").setReceiver("b").setTask("t").build();
console.log(runtime, decode(encode(msg)).sender);`;
    const r = run("node", ["--input-type=module", "-e", script], project);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("node a\n");
  });
});
