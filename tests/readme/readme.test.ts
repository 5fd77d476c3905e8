/**
 * Every code block of the READMEs runs as written, or says why not.
 *
 * Each README gets a stand-in for the repository root (`_workdir.ts`); its
 * blocks are taken in order, as a reader would: `file` blocks are saved,
 * the `daemon` block (`npx ampd`) starts the compiled sidecar on
 * `./ampd.sock`, `run` blocks run with `sh -e` and must exit 0 and print
 * something, matching the `output` block after them when there is one;
 * `browser` blocks run in headless Chromium on a page of an ampd started with
 * `--http` on a free port (the README's `127.0.0.1:8080` is replaced by it);
 * `flags` blocks must name exactly the flags of `ampd --help`. A block
 * without a marker fails the suite. The markers are described in `_blocks.ts`.
 *
 * Python blocks need Debian's python3-msgpack for `/usr/bin/python3`, browser
 * blocks Chromium: without them those blocks are skipped with a printed
 * reason, except under CI=true, where they fail.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildAmpd, ROOT, runAmpd } from "../_helpers/ampd.ts";
import { buildSdkForNode } from "../_helpers/sdk_build.ts";
import { browserMissing, launchChromium, startLive } from "../web/_live.ts";
import { type CodeBlock, matchesOutput, parseBlocks } from "./_blocks.ts";
import { WorkDir } from "./_workdir.ts";

const DOCS = ["README.md", "clients/python/README.md"];
const RUN_TIMEOUT_MS = 30_000;
const PYTHON = "/usr/bin/python3";

/** Why Python blocks cannot run here, or undefined when they can. */
function pythonMissing(): string | undefined {
  const r = spawnSync(PYTHON, ["-c", "import msgpack"], { encoding: "utf8" });
  const why = r.status === 0 ? undefined : `${PYTHON} cannot import msgpack (apt-get install python3-msgpack)`;
  if (why !== undefined && process.env.CI === "true") throw new Error(`README Python blocks must run in CI: ${why}`);
  return why;
}

/** The first line of a block, for test names. */
function firstLine(b: CodeBlock): string {
  return b.body.split("\n")[0].replace(/\s+#.*$/, "").trim();
}

function failure(what: string, r: { code: number | null; stdout: string; stderr: string; timedOut?: boolean }): Error {
  const how = r.timedOut ? `timed out after ${RUN_TIMEOUT_MS} ms` : `exited with ${r.code}`;
  return new Error(`${what} ${how}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
}

/** Compares with an `output` block, or asks for visible output when there is none. */
function checkOutput(doc: string, block: CodeBlock, expected: CodeBlock | undefined, stdout: string): void {
  if (expected === undefined) {
    if (stdout.trim() === "") throw new Error(`${doc}:${block.line} printed nothing: a reader cannot tell it worked`);
    return;
  }
  // toBe shows a diff; the wildcards `…` make a match that is not equality.
  if (!matchesOutput(expected.body, stdout)) expect(stdout).toBe(expected.body);
}

/** Runs a module in Chromium on ampd's own page; resolves with what it logged. */
async function runInBrowser(source: string): Promise<string> {
  const { ampd, http } = await startLive();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const logged: string[] = [];
    page.on("console", (m: { type(): string; text(): string }) => {
      if (m.type() === "log") logged.push(m.text());
    });
    const failed = new Promise<never>((_, reject) => page.on("pageerror", (e: Error) => reject(e)));
    await page.goto(`${http}/`);
    const ws = http.replace(/^http/, "ws");
    const code = source.replaceAll("http://127.0.0.1:8080", http).replaceAll("ws://127.0.0.1:8080", ws);
    await page.addScriptTag({ type: "module", content: `${code}\nwindow.__readmeDone = true;\n` });
    await Promise.race([page.waitForFunction(() => (window as { __readmeDone?: boolean }).__readmeDone === true, null, { timeout: 15_000 }), failed]);
    return logged.map((l) => `${l}\n`).join("");
  } finally {
    await browser.close();
    await ampd.dispose();
  }
}

/** The flags an `ampd --help` lists, without -h/--help and -V/--version. */
async function helpFlags(): Promise<string[]> {
  const r = await runAmpd(["--help"]);
  if (r.code !== 0) throw failure("ampd --help", r);
  const flags = [...r.stdout.matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1]);
  return flags.filter((f) => f !== "--help" && f !== "--version").sort();
}

for (const doc of DOCS) {
  describe(doc, () => {
    const { blocks, problems } = parseBlocks(readFileSync(join(ROOT, doc), "utf8"));
    let dir: WorkDir;

    beforeAll(async () => {
      await buildAmpd();
      await buildSdkForNode(); // `npm run build`, which the README asks for once
      dir = new WorkDir();
    }, 120_000);
    afterAll(async () => await dir?.dispose(), 20_000);

    test("every code block carries a test marker, and each output block follows a run", () => {
      const unexplained = blocks.filter((b) => b.kind === "skip" && b.arg.trim().length < 10);
      expect(unexplained.map((b) => `line ${b.line}: a skip marker needs its reason`)).toEqual([]);
      const orphans = blocks.filter((b, i) => b.kind === "output" && !["run", "browser"].includes(blocks[i - 1]?.kind));
      expect([...problems, ...orphans.map((b) => `line ${b.line}: an output block after no run or browser block`)]).toEqual([]);
    });

    blocks.forEach((block, i) => {
      const at = `${doc}:${block.line}`;
      const next = blocks[i + 1]?.kind === "output" ? blocks[i + 1] : undefined;
      switch (block.kind) {
        case "skip":
          // Not a test that was skipped: a block the README marks as not runnable, with its reason
          // (the marker test above fails on a skip marker without one).
          console.log(`${at} is not run: ${block.arg}`);
          break;
        case "output":
          break; // checked with the block before it
        case "file":
          test(`${at} saves ${block.arg}`, () => dir.write(block.arg, block.body));
          break;
        case "daemon":
          test(`${at} starts \`${firstLine(block)}\``, async () => {
            await dir.start(block.body, /^ampd ready /m, 15_000);
          }, 20_000);
          break;
        case "run":
          test(`${at} runs \`${firstLine(block)}\``, async () => {
            if (/\bpython3\b/.test(block.body)) {
              const why = pythonMissing();
              if (why !== undefined) return console.log(`skipping ${at}: ${why}`);
            }
            const r = await dir.run(block.body, RUN_TIMEOUT_MS);
            if (r.code !== 0 || r.timedOut) throw failure(`${at}`, r);
            checkOutput(doc, block, next, r.stdout);
          }, RUN_TIMEOUT_MS + 5_000);
          break;
        case "browser":
          test(`${at} runs in Chromium`, async () => {
            const why = await browserMissing();
            if (why !== undefined) return;
            checkOutput(doc, block, next, await runInBrowser(block.body));
          }, 45_000);
          break;
        case "flags":
          test(`${at} names exactly the flags of \`ampd --help\``, async () => {
            const named = [...new Set(block.body.match(/--[a-z-]+/g) ?? [])].sort();
            expect(named).toEqual(await helpFlags());
          });
          break;
      }
    });
  });
}
