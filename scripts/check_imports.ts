/**
 * The import rules of the source tree, checked by `npm run check`:
 *
 * 1. No import cycle among `mod.ts`, `sdk/` and `sidecar/` (type-only
 *    imports count: a cycle of types is still a knot for the reader).
 * 2. No file imports a `_private` file of another folder.
 * 3. `sdk/` never imports `sidecar/`; `mod.ts` imports only `sdk/`.
 * 4. Inside `sdk/`, imports run one way between the folders:
 *    client → backend → codec → envelope, client → trust → codec,
 *    client → transport, and every
 *    folder → `sdk/errors.ts` and the helpers at `sdk/` top level, which
 *    import no folder. A new folder must be given its place in `SDK_LAYERS`.
 * 5. `mod.ts` exports by name: no `export *`.
 * 6. ampd's start-up loads only what serving needs: the static imports from
 *    `sidecar/main.ts` (type-only and dynamic `import()` left out) reach none
 *    of `STARTUP_EXCLUDED` (the schema machinery, the Redis client, SQLite);
 *    those load with `import()` when a message must be explained, a backend
 *    is chosen, or a command runs.
 *
 * `bun scripts/check_imports.ts [ROOT]` prints every broken rule and exits 1,
 * or prints one line and exits 0.
 *
 * @module
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

const root = resolve(process.argv[2] ?? join(import.meta.dir, ".."));

/** Which sdk/ folders a folder may import (besides itself and the sdk/ top level). */
const SDK_LAYERS: Record<string, readonly string[]> = {
  aisp: [],
  envelope: ["aisp"],
  codec: ["envelope"],
  transport: [],
  backend: ["codec", "envelope"],
  trust: ["aisp", "codec", "envelope"],
  client: ["aisp", "backend", "codec", "envelope", "transport", "trust"],
};

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** Relative specifiers a file imports or re-exports, static or dynamic. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const src = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const re = /(?:\bimport\b[^"';]*?\bfrom\s*|\bexport\b[^"';]*?\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm;
  for (let m; (m = re.exec(src)) !== null;) out.push(m[1]);
  return out;
}

const rel = (p: string) => relative(root, p).split(sep).join("/");

const files = [join(root, "mod.ts"), ...walk(join(root, "sdk")), ...walk(join(root, "sidecar"))];
const graph = new Map<string, string[]>();
const problems: string[] = [];

for (const file of files) {
  const from = rel(file);
  const text = readFileSync(file, "utf8");
  const deps: string[] = [];
  for (const spec of specifiers(text)) {
    const target = resolve(dirname(file), spec);
    try {
      statSync(target);
    } catch {
      problems.push(`${from}: imports ${spec}, which does not exist`);
      continue;
    }
    const to = rel(target);
    deps.push(to);
    const base = to.split("/").pop()!;
    if (base.startsWith("_") && dirname(to) !== dirname(from)) {
      problems.push(`${from}: imports ${to}, a private file of another folder`);
    }
    if (from.startsWith("sdk/") && to.startsWith("sidecar/")) problems.push(`${from}: the SDK imports the sidecar (${to})`);
    if (from === "mod.ts" && !to.startsWith("sdk/")) problems.push(`mod.ts: imports ${to}, outside sdk/`);
    const a = from.split("/");
    const b = to.split("/");
    if (a[0] === "sdk" && a.length > 2 && SDK_LAYERS[a[1]] === undefined) {
      problems.push(`${from}: sdk/${a[1]}/ has no place in the layers (SDK_LAYERS in scripts/check_imports.ts)`);
    }
    if (a[0] === "sdk" && a.length === 2 && b[0] === "sdk" && b.length > 2) {
      problems.push(`${from}: a helper at the top of sdk/ imports sdk/${b[1]}/ (${to}); the top level is below every folder`);
    }
    if (a[0] === "sdk" && b[0] === "sdk" && a.length > 2 && b.length > 2 && a[1] !== b[1]) {
      const allowed = SDK_LAYERS[a[1]];
      if (allowed !== undefined && SDK_LAYERS[b[1]] !== undefined && !allowed.includes(b[1])) {
        problems.push(`${from}: sdk/${a[1]}/ may not import sdk/${b[1]}/ (${to}); imports run client → backend → codec → envelope, client → transport`);
      }
    }
  }
  graph.set(from, deps);
  if (from === "mod.ts" && /^\s*export\s*\*/m.test(text)) problems.push("mod.ts: `export *` publishes whatever a module exports; list the public names");
}

// Tarjan's strongly connected components: each component of more than one file is a cycle.
let index = 0;
const stack: string[] = [];
const on = new Set<string>();
const idx = new Map<string, number>();
const low = new Map<string, number>();
const cycles: string[][] = [];
function visit(v: string): void {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  on.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!idx.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v)!, low.get(w)!));
    } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
  }
  if (low.get(v) === idx.get(v)) {
    const comp: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      on.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1) cycles.push(comp.sort());
  }
}
for (const v of graph.keys()) if (!idx.has(v)) visit(v);
for (const c of cycles) problems.push(`import cycle among ${c.length} files: ${c.join(", ")}`);

/** What ampd's start-up must not load (issue: idle RSS and time to ready). */
const STARTUP_EXCLUDED = ["arktype", "redis", "bun:sqlite", "sdk/envelope/schema.ts"];

/** Specifiers a file imports statically for its values: not `import type`, not `import()`. */
function staticSpecifiers(text: string): string[] {
  const out: string[] = [];
  const src = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const re = /^\s*(import|export)\s+(type\s)?([^"';]*?\bfrom\s*)?["']([^"']+)["']/gm;
  for (let m; (m = re.exec(src)) !== null;) {
    if (m[2] !== undefined) continue;
    if (m[1] === "export" && m[3] === undefined) continue;
    out.push(m[4]);
  }
  return out;
}

{
  const seen = new Set<string>();
  const via = new Map<string, string>();
  const queue = ["sidecar/main.ts"];
  while (queue.length > 0) {
    const from = queue.shift()!;
    if (seen.has(from)) continue;
    seen.add(from);
    for (const spec of staticSpecifiers(readFileSync(join(root, from), "utf8"))) {
      const to = spec.startsWith(".") ? rel(resolve(dirname(join(root, from)), spec)) : spec;
      if (STARTUP_EXCLUDED.includes(to)) {
        const chain = [to, from];
        for (let f = from; via.has(f);) chain.push(f = via.get(f)!);
        problems.push(`ampd's start-up loads ${to}: ${chain.reverse().join(" → ")} (import it with import() where it is needed)`);
      }
      if (to.endsWith(".ts") && !seen.has(to)) {
        if (!via.has(to)) via.set(to, from);
        queue.push(to);
      }
    }
  }
}

if (problems.length > 0) {
  console.error(`import rules broken (${problems.length}):\n${problems.map((p) => `- ${p}`).join("\n")}`);
  process.exit(1);
}
console.log(`imports: ${graph.size} files, no cycle, layers respected, mod.ts exports by name, ampd's start-up loads no ${STARTUP_EXCLUDED.join(", ")}`);
