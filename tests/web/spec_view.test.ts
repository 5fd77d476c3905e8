/**
 * The live view's spec section in headless Chromium (as tests/web/browser.test.ts
 * launches it), against the compiled ampd with --http: the detail pane of a task
 * highlights each statement's tokens by kind and symbol category (the SDK bundle's
 * AISPParser, loaded from /ampbus.js when first needed), lists parse errors with
 * their line and column, and shows the grader's tier, suggestions and warnings.
 */
import { describe, expect, test } from "bun:test";
import { grade } from "../../mod.ts";
import { browserMissing, liveBrowserSuite, testMessage } from "./_live.ts";

const missing = await browserMissing();

describe.skipIf(missing !== undefined)("the spec in the live view's detail pane", () => {
  const env = liveBrowserSuite({ name: "spec-view-test" });

  test("statements highlighted by token kind, parse errors with line and column, the grade with its suggestions", async () => {
    const page = await env.browser.newPage({ viewport: { width: 1500, height: 820 } });
    const errors: string[] = [];
    page.on("pageerror", (e: Error) => errors.push(e.message));
    await page.goto(`${env.http}/`);
    await page.waitForFunction(() => document.getElementById("status")!.textContent!.startsWith("connected"));

    const spec = {
      preconditions: ["∀f ∈ Files: compiled(f)", "∀ ∈ Files", "∀g ∈ Files: ready"],
      task: "check ≜ λf.lint(f)",
      postconditions: ["∀t ∈ Tests: passed(t) = ⊤"],
    };
    const graded = grade(spec);
    const task = testMessage(1, { spec, tier: graded.tier });
    await env.bus.send(task);
    await page.waitForFunction((id: string) => document.querySelector(`tr.msg[data-id="${id}"]`) !== null, task.id);
    await page.click(`tr.msg[data-id="${task.id}"]`);
    await page.waitForFunction(() => document.getElementById("spec-syntax")?.textContent?.includes("graded"));

    const box = await page.textContent("#spec-syntax");
    // The parse error of precondition 2, where it is.
    expect(box).toContain("precondition 2: line 1, column 3: expected a bound variable after ∀, found ∈");
    // The grade as the SDK computes it, and what would raise it.
    expect(box).toContain(`graded ${graded.tier} (${graded.score}; δ ${graded.semanticDensity}), claimed ${graded.tier}`);
    expect(box).toContain("precondition 3 quantifies over g but never uses it");
    expect(box).toContain("precondition 2 does not parse at line 1, column 3");
    // Tokens as spans, by kind, with the symbol's category; the error's token marked.
    const symbols: string[] = await page.$$eval("#spec-syntax .t-symbol", (xs: Element[]) => xs.map((x) => x.textContent!));
    expect(symbols.slice(0, 3)).toEqual(["∀", "∈", "∀"]);
    const categories: string[] = await page.$$eval("#spec-syntax .t-symbol", (xs: Element[]) => xs.map((x) => (x as HTMLElement).dataset.category!));
    expect(categories.slice(0, 2)).toEqual(["quantifiers", "sets"]);
    expect(await page.$$eval("#spec-syntax .t-word", (xs: Element[]) => xs.map((x) => x.textContent))).toContain("compiled");
    expect(await page.$$eval("#spec-syntax .t-error", (xs: Element[]) => xs.map((x) => x.textContent))).toEqual(["∈"]);
    // The statements read as written, in the spec's order: the spans together are the text.
    const statements: string[] = await page.$$eval("#spec-syntax .statement", (xs: Element[]) => xs.map((x) => x.textContent!));
    expect(statements).toEqual([
      "precondition 1 ∀f ∈ Files: compiled(f)",
      "precondition 2 ∀ ∈ Files",
      "precondition 3 ∀g ∈ Files: ready",
      "task check ≜ λf.lint(f)",
      "postcondition 1 ∀t ∈ Tests: passed(t) = ⊤",
    ]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  test("a message without a spec has no syntax section", async () => {
    const page = await env.browser.newPage();
    await page.goto(`${env.http}/`);
    await page.waitForFunction(() => document.getElementById("status")!.textContent!.startsWith("connected"));
    const tick = testMessage(2, { type: "obs.tick", receiver: "broadcast" });
    await env.bus.streamAdd("broadcast", tick);
    await page.waitForFunction((id: string) => document.querySelector(`tr.msg[data-id="${id}"]`) !== null, tick.id);
    await page.click(`tr.msg[data-id="${tick.id}"]`);
    expect(await page.textContent("#detail")).toContain("no spec");
    expect(await page.$("#spec-syntax")).toBeNull();
    await page.close();
  }, 60_000);
});
