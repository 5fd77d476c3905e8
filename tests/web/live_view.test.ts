/**
 * The live view in headless Chromium against the compiled ampd (memory
 * backend, --max-deliveries 1 so that a nack and a claim make a dead
 * letter): the backfill on open, dead letters linked to their original and
 * back, the consumer-group panel refreshed live, search by message id, opId
 * and conversation, the explicit empty and nothing-matches states, a
 * layout from 400 px to wide screens, and no console error, the compression
 * polyfill's worker included. Every test saves screenshots: under the test's
 * temporary directory, or under `$SCREENSHOTS` when set
 * (`SCREENSHOTS=/some/dir npx bun test tests/web/live_view.test.ts`).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { browserMissing, liveBrowserSuite, testMessage } from "./_live.ts";

const missing = await browserMissing();
const SHOTS = process.env.SCREENSHOTS ? resolve(process.env.SCREENSHOTS) : mkdtempSync(join(tmpdir(), "ampbus-live-view-"));

describe.skipIf(missing !== undefined)("the live view in headless Chromium", () => {
  beforeAll(() => {
    mkdirSync(SHOTS, { recursive: true });
    console.log(`live-view screenshots go to ${SHOTS}`);
  });
  const env = liveBrowserSuite({ name: "live-view-test", args: ["--max-deliveries", "1", "--claim-timeout", "10ms"] });

  /** Opens the page; `page.errors` collects console errors and uncaught exceptions. */
  // deno-lint-ignore no-explicit-any
  async function openPage(o: { width?: number; height?: number; query?: string } = {}): Promise<any> {
    const page = await env.browser.newPage({ viewport: { width: o.width ?? 1400, height: o.height ?? 860 } });
    const errors: string[] = [];
    page.on("pageerror", (e: Error) => errors.push(`uncaught: ${e.message}`));
    page.on("console", (m: { type(): string; text(): string }) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
    await page.goto(`${env.http}/${o.query ?? ""}`);
    await page.waitForFunction(() => document.getElementById("status")!.textContent!.startsWith("connected"));
    page.errors = errors;
    return page;
  }
  // deno-lint-ignore no-explicit-any
  const rowIds = (page: any): Promise<string[]> => page.$$eval("tr.msg", (trs: HTMLElement[]) => trs.map((t) => t.dataset.id!));
  // deno-lint-ignore no-explicit-any
  const shot = (page: any, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`) });

  test("an empty bus says so instead of showing a blank table", async () => {
    const page = await openPage();
    await page.waitForFunction(() => !document.getElementById("empty")!.hidden);
    expect(await page.textContent("#empty")).toContain("No messages yet.");
    expect(await page.textContent("#groups-sum")).toContain("none");
    await shot(page, "empty");
    expect(page.errors).toEqual([]);
    await page.close();
  }, 30_000);

  test("on open, the page shows the last entries of the watched streams, then live ones, each once", async () => {
    const before = [];
    for (let i = 0; i < 40; i++) before.push(testMessage(i, { sender: i % 2 ? "coder" : "planner", conversationId: `conv-${i % 5}`, tier: "bronze", spec: { preconditions: ["compiled(src)"], task: `task number ${i}`, postconditions: ["passed(all)"], evidence: { prover: "bun-test", method: "test-execution", confidence: 0.9 } } }));
    for (const m of before) await env.bus.streamAdd("lv.tasks", m);
    const page = await openPage({ query: "?backfill=25" });
    await page.waitForFunction(() => document.querySelectorAll("tr.msg").length === 25);
    const ids = await rowIds(page);
    expect(ids).toEqual(before.slice(-25).map((m) => m.id).reverse()); // the newest 25, newest first
    await page.click(`tr.msg[data-id="${before[39].id}"]`);
    expect(await page.textContent("#detail")).toContain("backfilled (sent before this page opened)");
    const live = testMessage(100, { tier: "reject", spec: { preconditions: [], task: "a live one", postconditions: [] } });
    await env.bus.streamAdd("lv.tasks", live);
    await page.waitForFunction((id: string) => document.querySelector("tr.msg")?.getAttribute("data-id") === id, live.id);
    expect(new Set(await rowIds(page)).size).toBe(26);
    // A new stream filter brings that stream's past in too.
    await env.bus.streamAdd("lv.other", testMessage(200, { sender: "reviewer" }));
    await env.bus.streamAdd("lv.other", testMessage(201, { sender: "reviewer" }));
    await page.fill("#f-stream", "lv.other");
    await page.waitForFunction(() => document.querySelectorAll("tr.msg").length === 2);
    await page.fill("#f-stream", "");
    await page.waitForFunction(() => document.querySelectorAll("tr.msg").length === 28);
    await shot(page, "backfill");
    expect(page.errors).toEqual([]);
    await page.close();
  }, 60_000);

  test("search finds messages by id, opId and conversation over the backfilled window, and says when nothing matches", async () => {
    const page = await openPage({ query: "?backfill=100" });
    await page.waitForFunction(() => document.querySelectorAll("tr.msg").length >= 28);
    const all = (await env.bus.streamRead({ "lv.tasks": "0" }, { count: 100 })).map((d) => d.message);
    const target = all[7];
    await page.fill("#search", target.id);
    await page.waitForFunction(() => document.querySelectorAll("tr.msg").length === 1);
    expect(await rowIds(page)).toEqual([target.id]);
    await page.fill("#search", target.opId.slice(0, 20));
    await page.waitForFunction(() => document.querySelectorAll("tr.msg").length === 1);
    expect(await rowIds(page)).toEqual([target.id]);
    await page.fill("#search", "conv-3");
    await page.waitForFunction(() => document.querySelectorAll("tr.msg").length === 8);
    const inConv = all.filter((m) => m.conversationId === "conv-3").map((m) => m.id).sort();
    expect((await rowIds(page)).sort()).toEqual(inConv);
    await page.fill("#search", "no-such-message-anywhere");
    await page.waitForFunction(() => !document.getElementById("empty")!.hidden);
    expect(await page.$$("tr.msg")).toHaveLength(0);
    const empty: string = await page.textContent("#empty");
    expect(empty).toContain("Nothing matches.");
    expect(empty).toContain("no-such-message-anywhere");
    await shot(page, "nothing-matches");
    await page.click("#reset");
    await page.waitForFunction(() => document.querySelectorAll("tr.msg").length >= 28);
    expect(await page.inputValue("#search")).toBe("");
    expect(page.errors).toEqual([]);
    await page.close();
  }, 60_000);

  test("dead letters show as dead letters, linked to their original and back; the group panel follows pending and dead letters live", async () => {
    const page = await openPage({ query: "?backfill=10" });
    const job = testMessage(300, { type: "task", sender: "planner", receiver: "worker", conversationId: "conv-job", tier: "reject", spec: { preconditions: [], task: "resize the images", postconditions: [] } });
    await env.bus.streamAdd("lv.jobs", job);
    await env.bus.streamAdd("lv.jobs", testMessage(301));
    const c = env.bus.group("lv.jobs", "resizers", { from: "0" }).consumer("resizer-1", { count: 1, block: 100 });
    const [d] = await c.fetch();
    expect(d.message.id).toBe(job.id);
    const groupRow = 'tr.grp[data-stream="lv.jobs"][data-group="resizers"]';
    await page.waitForSelector(groupRow, { timeout: 10_000 });
    await page.waitForFunction((sel: string) => document.querySelector(sel + " .g-pending")!.textContent === "1", groupRow);
    expect(await page.textContent(`${groupRow} .g-consumers`)).toContain("resizer-1 (1,");
    expect(await page.textContent(`${groupRow} .g-lag`)).toBe("1"); // lv.jobs holds two; one delivered
    expect(await page.textContent(`${groupRow} .g-dead`)).toBe("0");

    await d.nack();
    await new Promise((r) => setTimeout(r, 30));
    const [next] = await c.fetch(); // the claim makes it delivery 2 > 1: to lv.jobs.dlq; then the next entry is delivered
    expect(next.message.id).not.toBe(job.id);
    await page.waitForSelector("tr.msg.dead");
    const deadRow = await page.$("tr.msg.dead");
    expect(await deadRow.textContent()).toContain("dead letter of lv.jobs");
    expect(await page.textContent("tr.msg.dead .c-type .badge")).toBe("dead");
    expect(await page.textContent("tr.msg.dead .c-stream")).toBe("lv.jobs.dlq");
    expect(await page.textContent("tr.msg.dead .c-task")).toContain("dead letter of lv.jobs");
    await page.waitForFunction((sel: string) => document.querySelector(sel + " .g-dead")!.textContent === "1", groupRow);
    await next.ack(); // the panel follows: nothing pending any more
    await page.waitForFunction((sel: string) => document.querySelector(sel + " .g-pending")!.textContent === "0", groupRow);
    expect(Number(await page.textContent("#dead"))).toBeGreaterThanOrEqual(1);

    await page.click("tr.msg.dead");
    const box: string = await page.textContent("#dead-letter");
    expect(box).toContain("resizers");
    expect(box).toContain("resizer-1");
    expect(box).toContain(job.id);
    expect(await page.textContent("#detail pre.original")).toContain(`"opId": "${job.opId}"`);
    await shot(page, "dead-letter");
    await page.click("#original-link .link"); // to the original message
    await page.waitForFunction((id: string) => document.querySelector("tr.sel")?.getAttribute("data-id") === id, job.id);
    expect(await page.textContent("#dead-lettered")).toContain("lv.jobs.dlq");
    await page.click("#dead-lettered .link"); // and back
    await page.waitForSelector("#dead-letter");
    // The dead letter is found by its original's id too.
    await page.fill("#search", job.id);
    await page.waitForFunction(() => document.querySelectorAll("tr.msg").length === 2);
    expect(await page.$$("tr.msg.dead")).toHaveLength(1);
    await shot(page, "groups-and-dead-letters");
    expect(page.errors).toEqual([]);
    await page.close();
  }, 60_000);

  test("the layout works from 400 px to wide screens: no sideways scrolling, no column squeezed to a letter a line", async () => {
    for (const width of [400, 420, 768, 1280, 1920]) {
      const page = await openPage({ width, height: 800, query: "?backfill=50" });
      await page.waitForFunction(() => document.querySelectorAll("tr.msg").length >= 20);
      await page.click("tr.msg:nth-child(2)");
      const m = await page.evaluate(() => {
        const doc = document.documentElement;
        const row = document.querySelector("tr.msg") as HTMLElement;
        const cells = [...row.querySelectorAll("td")].filter((td) => getComputedStyle(td).display !== "none");
        const header = document.querySelector("header") as HTMLElement;
        const list = document.getElementById("list")!;
        const detail = document.getElementById("detail")!;
        return {
          scroll: doc.scrollWidth - doc.clientWidth,
          rowHeight: row.getBoundingClientRect().height,
          narrowest: Math.min(...cells.map((td) => td.getBoundingClientRect().width)),
          cells: cells.length,
          listWidth: list.getBoundingClientRect().width,
          detailWidth: detail.getBoundingClientRect().width,
          headerWords: [...header.querySelectorAll(".stat")].every((s) => s.getBoundingClientRect().height < 30),
        };
      });
      expect(m.scroll).toBeLessThanOrEqual(0);
      expect(m.rowHeight).toBeLessThan(30); // one line of text per row
      expect(m.narrowest).toBeGreaterThanOrEqual(40);
      expect(m.cells).toBeGreaterThanOrEqual(4); // time, stream, route, task at least
      expect(m.listWidth).toBeGreaterThanOrEqual(width * (width <= 900 ? 0.95 : 0.5));
      expect(m.detailWidth).toBeGreaterThanOrEqual(width <= 900 ? width * 0.95 : 300);
      expect(m.headerWords).toBe(true);
      await shot(page, `layout-${width}`);
      expect(page.errors).toEqual([]);
      await page.close();
    }
  }, 90_000);

  test("no console errors, also when the SDK bundle compresses with its polyfill (a worker from a blob URL)", async () => {
    const page = await openPage();
    const r = await page.evaluate(async () => {
      const sdk = await import("/ampbus.js" as string);
      sdk.setCompressionEngine("polyfill");
      const text = "ampbus ".repeat(2000);
      const packed = await sdk.compressBytes(new TextEncoder().encode(text));
      const back = new TextDecoder().decode(await sdk.decompressBytes(packed));
      return { engine: await sdk.compressionEngine(), packed: packed.length, same: back === text };
    });
    expect(r).toEqual({ engine: "polyfill", packed: expect.any(Number), same: true });
    expect(r.packed).toBeLessThan(1000);
    await new Promise((res) => setTimeout(res, 200));
    expect(page.errors).toEqual([]);
    await page.close();
  }, 60_000);

  test("the screenshot of the docs (docs/live-view.png): a busy bus at 1400 px", async () => {
    const agents = ["planner", "coder", "tester", "reviewer", "deployer"];
    const tiers = ["platinum", "gold", "silver", "bronze"] as const;
    const specs = [
      { preconditions: ["∀f ∈ Src: compiled(f) = ⊤"], task: "deploy ≜ λb.ship(b) ∘ verify(b)", postconditions: ["∀s ∈ Staging: healthy(s) = ⊤"], evidence: { prover: "lean", method: "formal-verification" as const, confidence: 0.95 } },
      { preconditions: ["∀f ∈ Src: compiled(f) = ⊤"], task: "implement parseConfig ≜ λs.yaml(s)", postconditions: ["∀t ∈ Tests: passed(t) = ⊤"] },
      { preconditions: ["∀f ∈ Src: parsed(f)"], task: "review PR #142 for races", postconditions: ["reviewed(pr) = ⊤"] },
      { preconditions: ["compiled(src)"], task: "run the unit tests of parser.ts", postconditions: ["passed(all)"], evidence: { prover: "bun-test", method: "test-execution" as const, confidence: 0.9 } },
    ];
    for (let k = 0; k < 60; k++) {
      await env.bus.send(testMessage(1000 + k, { sender: agents[k % 5], receiver: agents[(k + 1) % 5], type: k % 4 === 3 ? "result" : "task", conversationId: `conv-${Math.floor(k / 4)}`, tier: tiers[k % 4], spec: specs[k % 4] }));
    }
    const page = await openPage({ width: 1400, height: 860, query: "?backfill=200" });
    await page.waitForFunction(() => document.querySelectorAll("tr.msg").length > 60);
    await page.waitForSelector("tr.grp");
    await page.click("tr.msg.dead");
    await shot(page, "live-view");
    expect(page.errors).toEqual([]);
    await page.close();
  }, 60_000);
});
