/** The marker parser and the output matcher of the README test (`_blocks.ts`). */
import { describe, expect, test } from "bun:test";
import { matchesOutput, parseBlocks } from "./_blocks.ts";

const FENCE = "```";

describe("parseBlocks", () => {
  test("reads each block with its marker, language and body", () => {
    const md = [
      "# Title",
      "",
      "<!-- test: file coder.ts -->",
      `${FENCE}ts`,
      "console.log(1);",
      FENCE,
      "",
      "<!-- test: run -->",
      `${FENCE}sh`,
      "npx bun coder.ts",
      FENCE,
      "<!-- test: output -->",
      `${FENCE}text`,
      "1",
      FENCE,
      "<!-- test: skip needs Redis on 6379 -->",
      `${FENCE}sh`,
      "REDIS_URL=redis://127.0.0.1:6379 npx ampd",
      FENCE,
    ].join("\n");
    const { blocks, problems } = parseBlocks(md);
    expect(problems).toEqual([]);
    expect(blocks.map((b) => [b.line, b.kind, b.arg, b.lang, b.body])).toEqual([
      [4, "file", "coder.ts", "ts", "console.log(1);\n"],
      [9, "run", "", "sh", "npx bun coder.ts\n"],
      [13, "output", "", "text", "1\n"],
      [17, "skip", "needs Redis on 6379", "sh", "REDIS_URL=redis://127.0.0.1:6379 npx ampd\n"],
    ]);
  });

  test("a block without a marker, or one separated from it by text, is a problem", () => {
    const md = ["Run:", "", `${FENCE}sh`, "npx ampd", FENCE, "<!-- test: run -->", "then:", `${FENCE}sh`, "ls", FENCE].join("\n");
    const { blocks, problems } = parseBlocks(md);
    expect(blocks).toEqual([]);
    expect(problems).toEqual([
      "line 3: a ```sh block without a <!-- test: ... --> marker before it",
      "line 8: a ```sh block without a <!-- test: ... --> marker before it",
    ]);
  });

  test("unknown kinds, a skip without a reason, a file without a name and an unclosed fence are problems", () => {
    const md = ["<!-- test: runn -->", `${FENCE}sh`, "a", FENCE, "<!-- test: skip -->", `${FENCE}`, "b", FENCE, "<!-- test: file -->", `${FENCE}ts`, "c", FENCE, "<!-- test: run -->", `${FENCE}sh`, "d"].join("\n");
    const { problems } = parseBlocks(md);
    expect(problems).toEqual([
      'line 2: unknown marker kind "runn" (one of file, run, daemon, output, browser, flags, skip)',
      'line 6: "skip" needs a reason',
      'line 10: "file" needs a file name',
      "line 14: the fence is never closed",
    ]);
  });

  test("an indented code block is a problem; an indented list continuation is not", () => {
    const md = ["## Live", "", "    ampd --http 127.0.0.1:8080", "", "- item", "", "    more of the item"].join("\n");
    expect(parseBlocks(md).problems).toEqual(["line 3: an indented code block; use a fence with a <!-- test: ... --> marker"]);
  });

  test("a longer fence holds a shorter one", () => {
    const md = ["<!-- test: skip an example of Markdown -->", "````md", FENCE, "x", FENCE, "````"].join("\n");
    const { blocks, problems } = parseBlocks(md);
    expect(problems).toEqual([]);
    expect(blocks[0].body).toBe(`${FENCE}\nx\n${FENCE}\n`);
  });
});

describe("matchesOutput", () => {
  test("… matches any text within one line, not across lines", () => {
    expect(matchesOutput("sent entry … to inbox.tester\n", "sent entry 1796-0 to inbox.tester\n")).toBe(true);
    expect(matchesOutput("sent entry … to inbox.tester\n", "sent entry  to inbox.tester\n")).toBe(false);
    expect(matchesOutput("a …\n", "a b\nc\n")).toBe(false);
  });

  test("the lines must be the same, in order, trailing spaces and blank lines aside", () => {
    expect(matchesOutput("one\ntwo\n", "one  \ntwo\n\n")).toBe(true);
    expect(matchesOutput("one\ntwo\n", "two\none\n")).toBe(false);
    expect(matchesOutput("one\n", "")).toBe(false);
    expect(matchesOutput("(x) [y] $z.\n", "(x) [y] $z.\n")).toBe(true);
  });
});
