/**
 * The one table renderer of ampd's commands: columns padded to the widest
 * cell as a terminal shows it (a CJK character or an emoji takes two
 * columns, a combining accent none), numbers right-aligned.
 *
 * @module
 */

const segmenter = typeof Intl.Segmenter === "function" ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : undefined;

/** True for code points a terminal draws two columns wide (East Asian wide and full-width, most emoji). */
function isWide(cp: number): boolean {
  return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0x303e) || (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f680 && cp <= 0x1f6ff) || (cp >= 0x1f900 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd);
}

/** How many terminal columns `text` takes. */
export function displayWidth(text: string): number {
  // deno-lint-ignore no-control-regex
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  let w = 0;
  const graphemes = segmenter === undefined ? Array.from(text) : Array.from(segmenter.segment(text), (s) => s.segment);
  for (const g of graphemes) {
    const cp = g.codePointAt(0)!;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || /^\p{Mn}/u.test(g)) continue;
    w += isWide(cp) || /\uFE0F/.test(g) ? 2 : 1;
  }
  return w;
}

/** `text` padded with spaces to `width` columns, on the right (`end`) or the left. */
export function pad(text: string, width: number, side: "end" | "start" = "end"): string {
  const fill = " ".repeat(Math.max(0, width - displayWidth(text)));
  return side === "end" ? text + fill : fill + text;
}

/** A cell that lines up on the right: a number, or `-` standing for none. */
const NUMERIC = /^(-|[+-]?\d[\d,.]*(\s?(ms|s|%|B|KiB|MiB))?)$/;

/**
 * Lines of a table: `rows[0]` is the header. Columns are two spaces apart;
 * a column whose every body cell is a number is right-aligned, others are
 * left-aligned; trailing spaces are cut.
 *
 * @example
 * ```ts
 * import { renderTable } from "./table.ts";
 *
 * const lines = renderTable([["STREAM", "LENGTH"], ["tasks", "12"], ["収件箱", "3"]]);
 * if (lines[2] !== "収件箱       3") throw new Error(JSON.stringify(lines));
 * ```
 */
export function renderTable(rows: readonly (readonly string[])[]): string[] {
  if (rows.length === 0) return [];
  const n = Math.max(...rows.map((r) => r.length));
  const widths = new Array<number>(n).fill(0);
  const right = new Array<boolean>(n).fill(rows.length > 1);
  rows.forEach((r, ri) => {
    for (let i = 0; i < n; i++) {
      const c = r[i] ?? "";
      widths[i] = Math.max(widths[i]!, displayWidth(c));
      if (ri > 0 && c !== "" && !NUMERIC.test(c)) right[i] = false;
    }
  });
  right[0] = false;
  return rows.map((r) => {
    const cells: string[] = [];
    for (let i = 0; i < n; i++) cells.push(pad(r[i] ?? "", widths[i]!, right[i] ? "start" : "end"));
    return cells.join("  ").trimEnd();
  });
}
