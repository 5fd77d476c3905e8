/**
 * Checks that deno.json and package.json agree: version, the export of the
 * SDK entry, and the versions of the npm dependencies deno.json maps. CI runs
 * it (`npm run check:manifests`); it exits 1 and names every mismatch.
 */
import { readFileSync } from "node:fs";

const deno = JSON.parse(readFileSync(new URL("../deno.json", import.meta.url), "utf8"));
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
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

if (problems.length > 0) {
  console.error(`manifests disagree:\n- ${problems.join("\n- ")}`);
  process.exit(1);
}
console.log(`manifests agree: ampbus ${pkg.version}, ${Object.keys(pkg.dependencies).length} dependencies`);
