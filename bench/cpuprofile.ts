/**
 * The top self-time functions of a `.cpuprofile` (Chrome's format, which
 * `bun --cpu-prof` writes; `bun bench/bus.ts --durable --cpu-prof=DIR` leaves
 * one per ampd in DIR), each with the callers its time came through.
 *
 * Usage: `bun bench/cpuprofile.ts FILE.cpuprofile [--top=25] [--depth=3]`
 *
 * Self time of a function is its share of the samples in which it was the
 * innermost frame. Each sample counts once, whatever the gap to the next:
 * Bun's profiler samples only while the JS thread is inside JS or a native
 * call made from JS (a blocking fsync in a bun:sqlite call is sampled; the
 * event loop waiting for I/O is not), and on a loaded machine the gaps
 * between samples stretch, so summing the gaps would hand every idle wait to
 * the last function before it. Native functions (no source file) are shown
 * by name: in ampd `run` and `exec` are bun:sqlite's statement calls (a
 * COMMIT's fsync runs inside one), `write` is the socket write.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { numberFlag } from "./_proc.ts";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** `name (file:line)`, the file without its directories; native frames by name only. */
export function frameName(f: CallFrame): string {
  const name = f.functionName || "(anonymous)";
  if (f.url === "") return `${name} (native)`;
  return `${name} (${f.url.split("/").pop()}:${f.lineNumber + 1})`;
}

/** Per function: its self samples, and those by caller chain (`depth` callers, innermost first). */
export function selfTimes(p: Profile, depth: number): { total: number; fns: { name: string; samples: number; via: Map<string, number> }[] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const fns = new Map<string, { name: string; samples: number; via: Map<string, number> }>();
  let total = 0;
  for (const id of p.samples) {
    const node = byId.get(id);
    if (node === undefined) continue;
    total++;
    const name = frameName(node.callFrame);
    let f = fns.get(name);
    if (f === undefined) fns.set(name, (f = { name, samples: 0, via: new Map() }));
    f.samples++;
    const chain: string[] = [];
    for (let id = parent.get(node.id); id !== undefined && chain.length < depth; id = parent.get(id)) {
      const c = byId.get(id)!.callFrame;
      if (c.functionName === "(root)") break;
      chain.push(frameName(c));
    }
    const key = chain.join(" < ") || "(top level)";
    f.via.set(key, (f.via.get(key) ?? 0) + 1);
  }
  return { total, fns: [...fns.values()].sort((a, b) => b.samples - a.samples) };
}

if (import.meta.main) {
  const file = process.argv.slice(2).find((a) => !a.startsWith("--"));
  if (file === undefined) {
    console.error("usage: bun bench/cpuprofile.ts FILE.cpuprofile [--top=25] [--depth=3]");
    process.exit(2);
  }
  const top = numberFlag("top", 25);
  const depth = numberFlag("depth", 3);
  const { total, fns } = selfTimes(JSON.parse(readFileSync(file, "utf8")) as Profile, depth);
  console.log(`${file}: ${total} samples; top ${top} functions by self samples (share of all samples)`);
  for (const f of fns.slice(0, top)) {
    console.log(`${(f.samples / total * 100).toFixed(1).padStart(5)}%  ${String(f.samples).padStart(6)}  ${f.name}`);
    const via = [...f.via.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
    for (const [chain, n] of via) console.log(`${"".padStart(16)}${(n / f.samples * 100).toFixed(0).padStart(3)}% via ${chain}`);
  }
}
