/**
 * The code blocks of a Markdown file and the `<!-- test: ... -->` marker that
 * says what the README test does with each one. The marker is an HTML comment
 * on the last non-blank line before the fence, invisible on the rendered page:
 *
 * | marker                          | the block is                                              |
 * |---------------------------------|-----------------------------------------------------------|
 * | `<!-- test: file NAME -->`      | written to NAME in the working directory                  |
 * | `<!-- test: run -->`            | a shell script, run with `sh -e`; must exit 0 and print   |
 * | `<!-- test: daemon -->`         | a shell command started in the background until `ampd ready` |
 * | `<!-- test: output -->`         | the stdout of the `run` or `browser` block before it      |
 * | `<!-- test: browser -->`        | an ES module run in headless Chromium on ampd's page      |
 * | `<!-- test: flags -->`          | a synopsis: it must name exactly the flags of `ampd --help` |
 * | `<!-- test: skip REASON -->`    | not run, for the reason given (required)                  |
 *
 * In an `output` block, `…` stands for any text within one line (ids, times).
 *
 * @example
 * ```ts
 * const { blocks, problems } = parseBlocks(readFileSync("README.md", "utf8"));
 * expect(problems).toEqual([]); // every block carries a marker
 * ```
 *
 * @module
 */

/** What the README test does with a block. */
export type BlockKind = "file" | "run" | "daemon" | "output" | "browser" | "flags" | "skip";

const KINDS: ReadonlySet<string> = new Set(["file", "run", "daemon", "output", "browser", "flags", "skip"]);

/** One fenced code block and its marker. */
export interface CodeBlock {
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's language tag (`ts`, `sh`...), or "". */
  lang: string;
  /** The lines between the fences, joined with "\n" (a trailing "\n" when non-empty). */
  body: string;
  kind: BlockKind;
  /** The file name of `file`, the reason of `skip`, else "". */
  arg: string;
}

/** The blocks of a file, and every problem found (unmarked blocks, bad markers). */
export interface ParsedBlocks {
  blocks: CodeBlock[];
  problems: string[];
}

const FENCE = /^( {0,3})(`{3,}|~{3,})\s*([^`\s]*)/;
const MARKER = /^<!--\s*test:\s*(\S+)\s*(.*?)\s*-->$/;
const LIST_ITEM = /^\s*([-*+]|\d+[.)])\s/;

/** Splits Markdown into its code blocks, each with its marker. */
export function parseBlocks(markdown: string): ParsedBlocks {
  const lines = markdown.split("\n");
  const blocks: CodeBlock[] = [];
  const problems: string[] = [];
  let lastText = ""; // the last non-blank line outside a block
  let prevBlank = true;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const open = FENCE.exec(line);
    if (open) {
      const fence = open[2];
      const body: string[] = [];
      let j = i + 1;
      while (j < lines.length && !(lines[j].trimStart().startsWith(fence) && lines[j].trim().replaceAll(fence[0], "") === "")) {
        body.push(lines[j].slice(Math.min(open[1].length, lines[j].length - lines[j].trimStart().length)));
        j++;
      }
      if (j === lines.length) problems.push(`line ${i + 1}: the fence is never closed`);
      const block = markedBlock(i + 1, open[3], body, lastText, problems);
      if (block) blocks.push(block);
      i = j;
      lastText = "";
      prevBlank = false;
      continue;
    }
    if (line.trim() === "") {
      prevBlank = true;
      continue;
    }
    // An indented code block cannot carry a marker: ask for a fence instead.
    if (/^( {4}|\t)/.test(line) && prevBlank && lastText !== "" && !/^\s/.test(lastText) && !LIST_ITEM.test(lastText)) {
      problems.push(`line ${i + 1}: an indented code block; use a fence with a <!-- test: ... --> marker`);
    }
    lastText = line.trim();
    prevBlank = false;
  }
  return { blocks, problems };
}

function markedBlock(line: number, lang: string, body: string[], before: string, problems: string[]): CodeBlock | undefined {
  const m = MARKER.exec(before);
  const text = body.length > 0 ? body.join("\n") + "\n" : "";
  if (!m) {
    problems.push(`line ${line}: a \`\`\`${lang} block without a <!-- test: ... --> marker before it`);
    return undefined;
  }
  const [, kind, arg] = m;
  if (!KINDS.has(kind)) {
    problems.push(`line ${line}: unknown marker kind "${kind}" (one of ${[...KINDS].join(", ")})`);
    return undefined;
  }
  if ((kind === "file" || kind === "skip") && arg === "") {
    problems.push(`line ${line}: "${kind}" needs ${kind === "file" ? "a file name" : "a reason"}`);
    return undefined;
  }
  return { line, lang, body: text, kind: kind as BlockKind, arg };
}

/**
 * Whether `actual` is what an `output` block shows: the same lines (trailing
 * spaces and blank lines at the end ignored), `…` matching any text in a line.
 */
export function matchesOutput(expected: string, actual: string): boolean {
  const want = trimLines(expected);
  const got = trimLines(actual);
  if (want.length !== got.length) return false;
  return want.every((w, i) => lineRegExp(w).test(got[i]));
}

function trimLines(text: string): string[] {
  const lines = text.split("\n").map((l) => l.trimEnd());
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function lineRegExp(expected: string): RegExp {
  const parts = expected.split("…").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join(".+?")}$`);
}
