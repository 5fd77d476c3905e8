/**
 * Checks that the manifests agree: deno.json and package.json on name,
 * version, the export of the SDK entry and the versions of the npm
 * dependencies deno.json maps; the npm workspaces (ampd's launcher and
 * platform packages) on the version, pinned exactly; the Python client's
 * pyproject.toml (and its `ampbus.__version__`) on the version. CI runs it (`npm run check:manifests`);
 * it exits 1 and names every mismatch. An optional argument checks another
 * checkout: `bun scripts/check_manifests.ts <root>`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(process.argv[2] ?? join(import.meta.dir, ".."));
const read = (path: string) => readFileSync(join(root, path), "utf8");
const deno = JSON.parse(read("deno.json"));
const pkg = JSON.parse(read("package.json"));
const problems: string[] = [];

if (pkg.name !== "ampbus") problems.push(`package.json name is ${pkg.name}, expected "ampbus"`);
if (!String(deno.name).endsWith("/ampbus")) problems.push(`deno.json name ${deno.name} must be <scope>/ampbus`);
if (deno.version !== pkg.version) problems.push(`version: deno.json ${deno.version} != package.json ${pkg.version}`);

// Same entry: deno.json exports ./mod.ts; package.json exports its build.
const denoEntry = typeof deno.exports === "string" ? deno.exports : deno.exports?.["."];
const npmEntry = pkg.exports?.["."];
if (denoEntry !== "./mod.ts") problems.push(`deno.json exports ${denoEntry}, expected ./mod.ts`);
if (npmEntry?.import !== "./dist/mod.js" || npmEntry?.types !== "./dist/mod.d.ts") {
  problems.push(`package.json exports["."] must be {types: ./dist/mod.d.ts, import: ./dist/mod.js}`);
}
const denoKeys = Object.keys(typeof deno.exports === "string" ? { ".": deno.exports } : deno.exports ?? {});
const npmKeys = Object.keys(pkg.exports ?? {});
if (denoKeys.join() !== npmKeys.join()) problems.push(`export paths differ: deno.json [${denoKeys}] vs package.json [${npmKeys}]`);

// Every npm import deno.json maps must be a runtime dependency of package.json, same range.
for (const [spec, target] of Object.entries<string>(deno.imports ?? {})) {
  const m = /^npm:(@?[^@]+)@([^/]+)/.exec(target);
  if (!m) continue;
  const [, name, range] = m;
  const npmRange = pkg.dependencies?.[name];
  if (npmRange === undefined) problems.push(`deno.json maps ${spec} to ${name}, which package.json does not depend on`);
  else if (npmRange !== range) problems.push(`${name}: deno.json wants ${range}, package.json ${npmRange}`);
}
for (const name of Object.keys(pkg.dependencies ?? {})) {
  const mapped = Object.values<string>(deno.imports ?? {}).some((t) => t.startsWith(`npm:${name}@`));
  if (!mapped) problems.push(`package.json depends on ${name}, which deno.json does not map`);
}

// The npm workspaces (the ampd launcher and its platform packages) ship the same version,
// and the launcher pins each platform package to it exactly, as esbuild does.
const workspaces = new Map<string, { name: string; version: string; optionalDependencies?: Record<string, string> }>();
for (const dir of pkg.workspaces ?? []) {
  const path = `${dir}/package.json`;
  if (!existsSync(join(root, path))) problems.push(`workspace ${dir} has no package.json`);
  else workspaces.set(path, JSON.parse(read(path)));
}
for (const [path, ws] of workspaces) {
  if (ws.version !== pkg.version) problems.push(`version: ${path} ${ws.version} != package.json ${pkg.version}`);
  for (const [name, range] of Object.entries(ws.optionalDependencies ?? {})) {
    const local = [...workspaces.values()].some((w) => w.name === name);
    if (local && range !== pkg.version) problems.push(`${path} wants ${name}@${range}, expected exactly ${pkg.version}`);
  }
}

// The Python client ships the same version, spelled the PEP 440 way (1.2.0-rc.1 is 1.2.0rc1).
const PYPROJECT = "clients/python/pyproject.toml";
const pyVersion = pep440(pkg.version);
const initVersion = /^__version__\s*=\s*["']([^"']+)["']/m.exec(read("clients/python/ampbus/__init__.py"))?.[1];
if (initVersion !== pyVersion) problems.push(`clients/python/ampbus/__init__.py __version__ is ${initVersion}, expected ${pyVersion}`);
if (!existsSync(join(root, PYPROJECT))) problems.push(`${PYPROJECT} is missing`);
else {
  // deno-lint-ignore no-explicit-any
  let py: any;
  try {
    py = Bun.TOML.parse(read(PYPROJECT));
  } catch (e) {
    problems.push(`${PYPROJECT} is not valid TOML: ${(e as Error).message}`);
  }
  const project = py?.project;
  if (py !== undefined && project === undefined) problems.push(`${PYPROJECT} has no [project] table`);
  else if (project !== undefined) {
    // A dynamic version comes from `[tool.setuptools.dynamic] version = {attr = "ampbus.__version__"}`.
    const dynamic = Array.isArray(project.dynamic) && project.dynamic.includes("version");
    const attr = py.tool?.setuptools?.dynamic?.version?.attr;
    if (dynamic && attr !== "ampbus.__version__") {
      problems.push(`${PYPROJECT}: a dynamic version must come from {attr = "ampbus.__version__"}, not ${JSON.stringify(py.tool?.setuptools?.dynamic?.version)}`);
    } else if (!dynamic && project.version !== pyVersion) {
      problems.push(`version: ${PYPROJECT} ${project.version} != package.json ${pkg.version} (${pyVersion} in PEP 440)`);
    }
  }
}

/** The PEP 440 spelling of a semver version: `-alpha.1` `-beta.1` `-rc.1` become `a1` `b1` `rc1`. */
function pep440(version: string): string {
  const m = /^(\d+\.\d+\.\d+)(?:-(alpha|beta|rc)\.?(\d+))?$/.exec(version);
  if (!m) {
    problems.push(`package.json version ${version} has no PEP 440 spelling (use x.y.z or x.y.z-alpha|beta|rc.N)`);
    return version;
  }
  const pre = m[2] === undefined ? "" : `${{ alpha: "a", beta: "b", rc: "rc" }[m[2]]}${m[3]}`;
  return m[1] + pre;
}

if (problems.length > 0) {
  console.error(`manifests disagree:\n- ${problems.join("\n- ")}`);
  process.exit(1);
}
console.log(
  `manifests agree: ampbus ${pkg.version} in deno.json, package.json (and ${workspaces.size} workspaces) and ${PYPROJECT}; ` +
    `${Object.keys(pkg.dependencies ?? {}).length} dependencies`,
);
