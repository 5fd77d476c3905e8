/**
 * The text tables (Markdown-compatible) every benchmark prints, and the
 * number formats in their cells; the result types of the serializer
 * benchmark and the median of several of its runs, which `run.ts` prints.
 *
 * @module
 */
import { median, spread } from "./_stats.ts";

/** Which baseline a row is compared with. */
export type Side = "encode" | "decode";

/** One measured operation. */
export interface RowResult {
  /** Table the row belongs to: a message name, or `"compression"`. */
  group: string;
  name: string;
  /** Median nanoseconds per operation. */
  ns: number;
  /** Bytes the operation produces (or reads, for decoders). */
  bytes?: number;
  /** Compared with the JSON encode or decode row of the same group. */
  side?: Side;
  /** Uncompressed bytes per operation, for MB/s. */
  throughputBytes?: number;
  /** Spread over runs, (max - min) / median; set by `medianReport()`. */
  spread?: number;
}

/** One run of the bench on one runtime. */
export interface Report {
  runtime: string;
  version: string;
  /** How many runs the numbers are the median of. */
  runs: number;
  rows: RowResult[];
  /** Notes printed under the tables (engines not available, and so on). */
  notes: string[];
}

/** Row names the targets and ratios refer to. */
export const ROW = {
  jsonEncode: "JSON.stringify + TextEncoder",
  jsonDecode: "TextDecoder + JSON.parse",
  oursEncode: "ampbus encode (validate + encode)",
  oursDecode: "ampbus decode (decode + validate)",
  oursCompressed: "ampbus encodeCompressed",
  compress: "compressBytes",
  decompress: "decompressBytes",
} as const;

/** The group of the AISP parser and grader rows (bench/serializer.ts), which has no JSON baseline. */
export const AISP_GROUP = "AISP spec";

/** The messages the size targets apply to: plain encoding of the seed, compressed encoding of the 16 KiB one. */
export const SIZE_TARGETS = { plain: "seed", compressed: "16 KiB result" } as const;

/** Combines runs of the same bench on the same runtime: the median time of each row, and its spread. */
export function medianReport(reports: readonly Report[]): Report {
  const first = reports[0];
  const rows = first.rows.map((row, i) => {
    const times = reports.map((r) => r.rows[i].ns);
    const ns = median(times);
    return { ...row, ns, spread: spread(times) };
  });
  return { ...first, runs: reports.length, rows };
}

/** Renders rows as an aligned Markdown table; the first column is left-aligned, the rest right-aligned. */
export function formatTable(head: readonly string[], body: readonly (readonly string[])[]): string {
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((r) => r[c].length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join(" | ")} |`;
  const rule = `|${widths.map((w, c) => (c === 0 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(head), rule, ...body.map(line)].join("\n");
}

const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** A whole number with thousands separators: `formatInt(12345.6)` is `"12,346"`. */
export function formatInt(x: number): string {
  return int.format(x);
}

/** A fraction as a whole percentage, `"—"` when not measured: `pct(0.335)` is `"34%"`. */
export function pct(x: number | undefined): string {
  return x === undefined ? "—" : `${Math.round(x * 100)}%`;
}

/** The CPU shares of `procs` (fractions of one core) as one cell: `"33% / 72% / —"`. */
export function cpuCell(procs: readonly string[], share: (proc: string) => number | undefined): string {
  return procs.map((k) => pct(share(k))).join(" / ");
}

/** The CPU shares of one measurement for a progress line: `"client 33% ampd 72%"`. */
export function cpuLine(cpu: Record<string, number>): string {
  return Object.entries(cpu).map(([k, v]) => `${k} ${pct(v)}`).join(" ");
}

function opsText(ns: number): string {
  return int.format(1e9 / ns);
}

function usText(ns: number): string {
  const us = ns / 1000;
  return us < 10 ? us.toFixed(2) : us < 100 ? us.toFixed(1) : us.toFixed(0);
}

/** A spread (see `spread()` in _stats.ts) as a percentage, empty for a single run. */
export function spreadText(s: number | undefined): string {
  return s === undefined ? "" : `${Math.round(s * 100)}%`;
}

function find(rows: readonly RowResult[], group: string, name: string): RowResult | undefined {
  return rows.find((r) => r.group === group && r.name === name);
}

/** Throughput in MB/s (10^6 bytes) of uncompressed data. */
export function mbps(row: RowResult): number {
  return (row.throughputBytes ?? 0) / row.ns * 1e3;
}

function verdict(value: number, target: number, atMost = false): string {
  const met = atMost ? value <= target : value >= target;
  const by = atMost ? (target - value) / target : (value - target) / target;
  return `${met ? "met" : "MISSED"} (${by >= 0 ? "+" : ""}${(by * 100).toFixed(0)}% vs target)`;
}

/** The tables, size ratios and target check of one report, as printable text. */
export function formatReport(rep: Report): string {
  const out: string[] = [];
  const runs = rep.runs > 1 ? `median of ${rep.runs} runs` : "1 run";
  out.push(`## ${rep.runtime} ${rep.version} (${runs}; ops/s = 10^9 / median ns per op)`);
  const groups = [...new Set(rep.rows.map((r) => r.group))];
  const spread = rep.runs > 1;
  for (const g of groups) {
    const rows = rep.rows.filter((r) => r.group === g);
    out.push("");
    if (g === "compression") {
      out.push(`### compression: compressBytes / decompressBytes of the 16 KiB message's encoded bytes (MB/s of uncompressed bytes)`);
      const engines = [...new Set(rows.map((r) => r.name.split(" ")[0]))];
      const head = ["engine", "compress MB/s", "decompress MB/s", "compressed bytes", ...(spread ? ["spread c/d"] : [])];
      const body = engines.map((e) => {
        const c = rows.find((r) => r.name === `${e} ${ROW.compress}`)!;
        const d = rows.find((r) => r.name === `${e} ${ROW.decompress}`)!;
        return [e, mbps(c).toFixed(1), mbps(d).toFixed(1), String(c.bytes ?? ""), ...(spread ? [`${spreadText(c.spread)}/${spreadText(d.spread)}`] : [])];
      });
      out.push(formatTable(head, body));
      continue;
    }
    if (g === AISP_GROUP) {
      out.push(`### ${g}: grading and parsing (µs per call; for the 1 KiB inputs, µs per KiB and MB/s of input)`);
      const head = ["operation", "ops/s", "µs/op", "MB/s", ...(spread ? ["spread"] : [])];
      const body = rows.map((r) => [r.name, opsText(r.ns), usText(r.ns), r.throughputBytes === undefined ? "" : mbps(r).toFixed(1), ...(spread ? [spreadText(r.spread)] : [])]);
      out.push(formatTable(head, body));
      continue;
    }
    const je = find(rows, g, ROW.jsonEncode)!;
    const jd = find(rows, g, ROW.jsonDecode)!;
    out.push(`### ${g} (JSON ${je.bytes} bytes)`);
    const head = ["operation", "ops/s", "µs/op", "bytes", "vs JSON", ...(spread ? ["spread"] : [])];
    const body = rows.map((r) => {
      const base = r.side === "encode" ? je : r.side === "decode" ? jd : undefined;
      const ratio = base ? `${(base.ns / r.ns).toFixed(2)}x ${r.side === "encode" ? "enc" : "dec"}` : "";
      return [r.name, opsText(r.ns), usText(r.ns), r.bytes === undefined ? "" : String(r.bytes), ratio, ...(spread ? [spreadText(r.spread)] : [])];
    });
    out.push(formatTable(head, body));
  }
  out.push("", "### targets");
  const encTarget = rep.runtime === "bun" ? 1.0 : 1.5;
  for (const g of groups.filter((x) => x !== "compression" && x !== AISP_GROUP)) {
    const rows = rep.rows.filter((r) => r.group === g);
    const je = find(rows, g, ROW.jsonEncode)!;
    const jd = find(rows, g, ROW.jsonDecode)!;
    const oe = find(rows, g, ROW.oursEncode)!;
    const od = find(rows, g, ROW.oursDecode)!;
    const e = je.ns / oe.ns;
    const d = jd.ns / od.ns;
    out.push(`- ${g}: validate+encode ${e.toFixed(2)}x JSON (target >= ${encTarget}x): ${verdict(e, encTarget)}`);
    out.push(`- ${g}: decode+validate ${d.toFixed(2)}x JSON (target >= 1.0x): ${verdict(d, 1.0)}`);
    const size = oe.bytes! / je.bytes!;
    const oc = find(rows, g, ROW.oursCompressed)!;
    const csize = oc.bytes! / je.bytes!;
    if (g === SIZE_TARGETS.plain) out.push(`- ${g}: size ${oe.bytes}/${je.bytes} = ${size.toFixed(3)}x JSON (target <= 0.9x): ${verdict(size, 0.9, true)}`);
    else if (g === SIZE_TARGETS.compressed) {
      out.push(`- ${g}: compressed size ${oc.bytes}/${je.bytes} = ${csize.toFixed(3)}x JSON (target <= 0.5x): ${verdict(csize, 0.5, true)}`);
    } else out.push(`- ${g}: size ${size.toFixed(3)}x JSON, compressed ${csize.toFixed(3)}x JSON (no target)`);
  }
  for (const r of rep.rows.filter((x) => x.group === "compression")) {
    out.push(`- ${r.name}: ${mbps(r).toFixed(0)} MB/s (target >= 200 MB/s): ${verdict(mbps(r), 200)}`);
  }
  for (const n of rep.notes) out.push(`- note: ${n}`);
  return out.join("\n");
}
