/**
 * Runs the serializer benchmark on Bun, Deno and Node, one after another, and
 * prints a table per runtime. This is `npm run bench`.
 *
 * Usage: `bun bench/run.ts [--runs=N] [--time=MS] [--only=bun,deno,node]`
 *        `bun bench/run.ts --bus [bus flags]`: the bus benchmark instead
 *        (`bench/bus.ts`, on Bun: ampd beside raw Redis, NATS JetStream and
 *        core NATS; its flags are passed through).
 *        `bun bench/run.ts --groups [groups flags]`: the consumer-group and
 *        request/reply benchmark instead (`bench/groups.ts`, on Bun).
 *        `bun bench/run.ts --cluster [cluster flags]`: ampd on a Redis
 *        Cluster beside one Redis, and the cost of `--redis-wait 1`
 *        (`bench/cluster.ts`, on Bun).
 * - `--runs=N`: run each runtime N times and report the median of each row,
 *   with its spread. Defaults to 1.
 * - `--time=MS`: minimum CPU time per row, passed to the bench. Defaults to 200.
 * - `--only=...`: a comma-separated subset of runtimes.
 *
 * Bun and Deno run `bench/serializer.ts` as it is. Node 20 cannot run
 * TypeScript, so the bench is first bundled for Node with `bun build
 * --target=node` into a temporary directory (the bundle holds the SDK and
 * its dependencies as plain JavaScript) and that file is run with `node`.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatReport, medianReport, type Report } from "./_table.ts";

const root = fileURLToPath(new URL("..", import.meta.url).href);
// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const argv: string[] = g.Deno?.args ?? g.process.argv.slice(2);
const opt = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

for (const [flag, file] of [["--bus", "bench/bus.ts"], ["--groups", "bench/groups.ts"], ["--cluster", "bench/cluster.ts"]]) {
  if (!argv.includes(flag)) continue;
  // The bus benchmarks (ampd, Redis, memory, NATS) run on Bun; their output as it comes.
  const r = spawnSync(bin("bun"), [file, ...argv.filter((a) => a !== flag)], { cwd: root, stdio: "inherit" });
  if (r.error) throw r.error;
  g.process.exit(r.status ?? 1);
}

const runs = Math.max(1, Number(opt("runs") ?? 1));
const time = Number(opt("time") ?? 200);
const only = (opt("only") ?? "bun,deno,node").split(",");

/** The project's copy of a tool in node_modules/.bin, else the one on PATH. */
function bin(name: string): string {
  const local = join(root, "node_modules", ".bin", name);
  return existsSync(local) ? local : name;
}

function runOnce(cmd: string, args: string[]): Report {
  const r = spawnSync(cmd, [...args, "--json", `--time=${time}`], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status}`);
  const last = r.stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(last) as Report;
}

const started = Date.now();
const scratch = mkdtempSync(join(tmpdir(), "ampbus-bench-"));
try {
  const plans: { name: string; cmd: string; args: string[] }[] = [
    { name: "bun", cmd: bin("bun"), args: ["bench/serializer.ts"] },
    { name: "deno", cmd: bin("deno"), args: ["run", "--allow-env", "--allow-read", "bench/serializer.ts"] },
    { name: "node", cmd: "node", args: [join(scratch, "serializer.mjs")] },
  ];
  for (const p of plans.filter((x) => only.includes(x.name))) {
    if (p.name === "node") {
      const b = spawnSync(bin("bun"), ["build", "bench/serializer.ts", "--target=node", `--outfile=${p.args[0]}`], {
        cwd: root,
        encoding: "utf8",
      });
      if (b.status !== 0) throw new Error(`bundling the bench for Node failed:\n${b.stderr}`);
    }
    const reports: Report[] = [];
    for (let i = 0; i < runs; i++) {
      g.process.stderr.write(`${p.name} run ${i + 1}/${runs} `);
      reports.push(runOnce(p.cmd, p.args));
      g.process.stderr.write("\n");
    }
    console.log(formatReport(medianReport(reports)));
    console.log("");
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`(${runs} run(s) per runtime, --time=${time}; total ${((Date.now() - started) / 1000).toFixed(0)} s)`);
