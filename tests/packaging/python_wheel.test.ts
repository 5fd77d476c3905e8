/**
 * The Python client as users install it: `pip wheel` builds
 * `ampbus-<version>-py3-none-any.whl` from clients/python with the system's
 * setuptools, offline (`--no-build-isolation --no-index`); the wheel installs
 * into a fresh virtualenv (`--system-site-packages`, so Debian's msgpack
 * satisfies the declared dependency); and the installed copy, not the source
 * tree, passes the client's unit tests and talks to a real ampd.
 *
 * Needs /usr/bin/python3 with venv (ensurepip) and setuptools: Debian's
 * python3-venv and python3-setuptools, which `npm test` installs
 * (scripts/ensure_system.mjs). Skipped without them, except under CI.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ampd, ROOT } from "../_helpers/ampd.ts";

const PYTHON = "/usr/bin/python3";
const SOURCE = join(ROOT, "clients", "python");
const VERSION: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;

const HAVE_TOOLS = spawnSync(PYTHON, ["-c", "import ensurepip, venv, setuptools, msgpack"], { stdio: "ignore" }).status === 0;
if (process.env.CI && !HAVE_TOOLS) {
  throw new Error(`${PYTHON} lacks venv, setuptools or msgpack but CI is set: apt-get install python3-venv python3-setuptools python3-msgpack`);
}

function run(command: string, args: string[], options: { cwd: string; input?: string }) {
  // -I below keeps PYTHONPATH and the working directory out of sys.path; clear PYTHONPATH anyway.
  const env: Record<string, string | undefined> = { ...process.env, PYTHONPATH: undefined, PYTHONDONTWRITEBYTECODE: "1", PIP_NO_INPUT: "1" };
  const r = spawnSync(command, args, { cwd: options.cwd, input: options.input, encoding: "utf8", env, timeout: 180_000 });
  if (r.error) throw r.error;
  return r;
}

describe.skipIf(!HAVE_TOOLS)("the Python wheel", () => {
  const dir = mkdtempSync(join(tmpdir(), "ampbus-wheel-"));
  const src = join(dir, "src"); // a copy: pip builds in the source tree (build/, *.egg-info)
  const venv = join(dir, "venv");
  const py = join(venv, "bin", "python");
  let wheel = "";
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(() => {
    cpSync(SOURCE, src, { recursive: true, filter: (p) => !/(__pycache__|\.egg-info|[/\\]build)$/.test(p) });
    const created = run(PYTHON, ["-m", "venv", "--system-site-packages", venv], { cwd: dir });
    if (created.status !== 0) throw new Error(`python3 -m venv failed:\n${created.stderr}`);
  }, 180_000);

  test("builds offline with the system's setuptools", () => {
    const r = run(py, ["-m", "pip", "wheel", "--no-build-isolation", "--no-index", "--no-deps", "--wheel-dir", join(dir, "wheels"), src], { cwd: dir });
    expect(r.stderr).not.toContain("ERROR");
    expect(r.status).toBe(0);
    const built = readdirSync(join(dir, "wheels"));
    expect(built).toEqual([`ampbus-${VERSION}-py3-none-any.whl`]);
    wheel = join(dir, "wheels", built[0]);
  }, 180_000);

  test("holds the ampbus package and its metadata: version, MIT, msgpack; no tests", () => {
    const list = run(py, ["-I", "-c", `
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
meta = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")][0]
print(json.dumps({"names": sorted(z.namelist()), "metadata": z.read(meta).decode()}))`, wheel], { cwd: dir });
    expect(list.status).toBe(0);
    const { names, metadata } = JSON.parse(list.stdout) as { names: string[]; metadata: string };
    const modules = readdirSync(join(SOURCE, "ampbus")).filter((f) => f.endsWith(".py")).map((f) => `ampbus/${f}`);
    expect(modules).toContain("ampbus/client.py");
    for (const m of modules) expect(names).toContain(m);
    expect(names.filter((n) => !n.startsWith("ampbus/") && !n.startsWith(`ampbus-${VERSION}.dist-info/`))).toEqual([]);
    expect(names.filter((n) => n.includes("test"))).toEqual([]);
    expect(names).toContain(`ampbus-${VERSION}.dist-info/LICENSE`);
    expect(metadata).toContain(`\nVersion: ${VERSION}\n`);
    expect(metadata).toContain("\nLicense: MIT\n");
    expect(metadata).toMatch(/\nRequires-Dist: msgpack \(?>=1\.0\)?\n/);
  });

  test("installs offline into the virtualenv; the installed copy is the one imported", () => {
    const r = run(py, ["-m", "pip", "install", "--no-index", wheel], { cwd: dir });
    expect(r.stdout).toContain(`Successfully installed ampbus-${VERSION}`);
    expect(r.status).toBe(0);
    const where = run(py, ["-I", "-c", "import ampbus, msgpack; print(ampbus.__version__, ampbus.__file__)"], { cwd: dir });
    expect(where.stderr).toBe("");
    const [version, file] = where.stdout.trim().split(" ");
    expect(version).toBe(VERSION);
    expect(file).toStartWith(join(venv, "lib"));
  }, 180_000);

  test("the installed client passes the client's unit tests", () => {
    // -t is the tests directory: the source tree is not on sys.path, so `import ampbus` finds the installed copy.
    const tests = join(SOURCE, "tests");
    const r = run(py, ["-I", "-m", "unittest", "discover", "-s", tests, "-t", tests, "-v"], { cwd: dir });
    expect(r.stderr).toMatch(/\nOK\n?$/);
    expect(r.stderr).toMatch(/Ran [1-9]\d* tests/);
    expect(r.stderr).not.toContain("skipped");
    expect(r.status).toBe(0);
  });

  test("the installed client publishes to a real ampd and reads the message back", async () => {
    const ampd = await Ampd.start({ args: ["--backend", "memory"] });
    try {
      const script = `
import json, sys, ampbus
with ampbus.connect(sys.argv[1], client="wheel-test") as bus:
    msg = ampbus.new_message("obs.tick", sender="wheel-test", receiver="broadcast", payload={"n": 7})
    entry_id, duplicate = bus.add("events", msg)
    got = [e.message for e in bus.read({"events": "0"}, count=10)]
    print(json.dumps({"duplicate": duplicate, "types": [m["type"] for m in got], "payloads": [m.get("payload") for m in got]}))`;
      const r = run(py, ["-I", "-c", script, ampd.socket], { cwd: dir });
      expect(r.stderr).toBe("");
      expect(JSON.parse(r.stdout)).toEqual({ duplicate: false, types: ["obs.tick"], payloads: [{ n: 7 }] });
    } finally {
      await ampd.dispose();
    }
  }, 60_000);

  test("pip install of the source directory works too (what the README tells users)", () => {
    const other = join(dir, "venv2");
    expect(run(PYTHON, ["-m", "venv", "--system-site-packages", other], { cwd: dir }).status).toBe(0);
    const r = run(join(other, "bin", "pip"), ["install", "--no-build-isolation", "--no-index", src], { cwd: dir });
    expect(r.stdout).toContain(`Successfully installed ampbus-${VERSION}`);
    expect(r.status).toBe(0);
    expect(existsSync(join(other, "lib"))).toBe(true);
    const v = run(join(other, "bin", "python"), ["-I", "-c", "import ampbus; print(ampbus.__version__)"], { cwd: dir });
    expect(v.stdout.trim()).toBe(VERSION);
  }, 180_000);
});
