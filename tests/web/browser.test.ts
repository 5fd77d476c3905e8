/**
 * The live view and the SDK in a real browser (headless Chromium through
 * playwright-core), against the compiled ampd with --http:
 * - the page shows messages published by an SDK client, with the right
 *   fields, a detail pane with the signature status, and working filters;
 *   a screenshot under load is saved under the test's temporary directory
 *   (or `$SCREENSHOTS`, as tests/web/live_view.test.ts does);
 * - the SDK bundle (GET /ampbus.js) publishes from the page over the
 *   WebSocket transport, and a client on the Unix socket receives it.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type AISPMessage, generateKeyPair, sign } from "../../mod.ts";
import { browserMissing, liveBrowserSuite, testMessage } from "./_live.ts";

const missing = await browserMissing();
const ARTIFACTS = process.env.SCREENSHOTS ? resolve(process.env.SCREENSHOTS) : mkdtempSync(join(tmpdir(), "ampbus-browser-"));

describe.skipIf(missing !== undefined)("in headless Chromium", () => {
  const env = liveBrowserSuite({ name: "test-publisher" });

  // deno-lint-ignore no-explicit-any
  async function openPage(): Promise<any> {
    const page = await env.browser.newPage({ viewport: { width: 1500, height: 820 } });
    const errors: string[] = [];
    page.on("pageerror", (e: Error) => errors.push(e.message));
    await page.goto(`${env.http}/`);
    await page.waitForFunction(() => document.getElementById("status")!.textContent!.startsWith("connected"));
    page.errors = errors;
    return page;
  }

  // deno-lint-ignore no-explicit-any
  const rowsOf = (page: any): Promise<Record<string, string>[]> =>
    page.$$eval("tr.msg", (trs: HTMLTableRowElement[]) =>
      trs.map((tr) => {
        const cell = (c: string) => tr.querySelector(`.${c}`)!.textContent!;
        return { id: tr.dataset.id!, entryId: tr.dataset.entryId!, stream: cell("c-stream"), route: cell("c-route"), type: cell("c-type"), tier: cell("c-tier"), task: cell("c-task") };
      })
    );

  test("the page shows published messages, their details and signature status, and filters them", async () => {
    const page = await openPage();
    const { signingKey } = await generateKeyPair("coder-key-1");
    const task = await sign(
      testMessage(1, {
        sender: "coder",
        receiver: "tester",
        tier: "gold",
        spec: { // grades gold (ampd re-grades every spec)
          preconditions: ["∀f ∈ Src: compiled(src) = ⊤"],
          task: "run the unit tests of parser.ts",
          postconditions: ["∀t ∈ Tests: passed(all) = ⊤"],
          evidence: { prover: "bun-test", method: "test-execution", confidence: 0.9 },
        },
      }),
      signingKey,
    );
    const r1 = await env.bus.send(task); // inbox.tester
    const reply = testMessage(2, { type: "result", sender: "tester", receiver: "coder", replyTo: task.id, conversationId: task.id, payload: { passed: 42 } });
    await env.bus.streamAdd("reply.coder", reply);
    await env.bus.streamAdd("broadcast", testMessage(3, { type: "obs.tick", sender: "planner", receiver: "broadcast" }));

    await page.waitForFunction(() => document.querySelectorAll("tr.msg").length === 3);
    const rows = await rowsOf(page);
    const first = rows.find((r) => r.id === task.id)!;
    expect(first).toEqual({ id: task.id, entryId: r1.entryId, stream: "inbox.tester", route: "coder → tester", type: "task", tier: "gold", task: "run the unit tests of parser.ts" });
    expect(rows.map((r) => r.stream)).toEqual(["broadcast", "reply.coder", "inbox.tester"]); // newest first
    expect(rows.find((r) => r.id === reply.id)!.task).toBe('{"passed":42}');

    await page.click(`tr.msg[data-id="${task.id}"]`);
    const detail: string = await page.textContent("#detail");
    expect(detail).toContain("present: ed25519, key id coder-key-1");
    expect(detail).toContain("Not verified");
    expect(detail).toContain("compiled(src)");
    expect(detail).toContain("bun-test");
    expect(detail).toContain("conversation (2 kept)"); // the reply is grouped with its request
    expect(await page.textContent("#detail .envelope")).toContain(`"opId": "${task.opId}"`);
    await page.click(`tr.msg[data-id="${reply.id}"]`);
    expect(await page.textContent("#detail .sig")).toContain("absent");

    // Filter by sender: the kept history is filtered at once, and ampd sends only matching messages from then on.
    await page.fill("#f-sender", "planner,tester");
    await page.waitForFunction(() => document.querySelectorAll("tr.msg").length === 2);
    await page.waitForFunction(() => document.getElementById("status")!.textContent === "connected, filtered in ampd");
    await env.bus.send(testMessage(4, { sender: "coder", receiver: "tester" }));
    const late = testMessage(5, { sender: "planner", receiver: "coder" });
    await env.bus.send(late);
    await page.waitForFunction((id: string) => document.querySelector(`tr.msg[data-id="${id}"]`) !== null, late.id);
    await new Promise((r) => setTimeout(r, 100));
    expect((await rowsOf(page)).map((r) => r.route.split(" → ")[0]).sort()).toEqual(["planner", "planner", "tester"]);
    expect(await page.textContent("#kept")).toBe("4"); // the coder message never reached the page

    // Tier filter.
    await page.fill("#f-sender", "");
    await page.selectOption("#f-tier", "gold");
    await page.waitForFunction(() => document.querySelectorAll("tr.msg").length === 1);
    expect((await rowsOf(page))[0].id).toBe(task.id);
    expect(page.errors).toEqual([]);
    await page.close();
  }, 60_000);

  test("under load (thousands of messages a second) the page keeps up, stays bounded, and a screenshot is saved", async () => {
    const page = await openPage();
    const agents = ["planner", "coder", "tester", "reviewer", "deployer"];
    const tiers = ["platinum", "gold", "silver", "bronze", "reject"] as const;
    // One spec per tier, each grading at least the tier it claims (ampd re-grades every spec).
    const specs = [
      { preconditions: ["∀f ∈ Src: compiled(f) = ⊤"], task: "deploy ≜ λb.ship(b) ∘ verify(b)", postconditions: ["∀s ∈ Staging: healthy(s) = ⊤"], evidence: { prover: "lean", method: "formal-verification" as const, confidence: 0.95 } },
      { preconditions: ["∀f ∈ Src: compiled(f) = ⊤"], task: "implement parseConfig ≜ λs.yaml(s)", postconditions: ["∀t ∈ Tests: passed(t) = ⊤"] },
      { preconditions: ["∀f ∈ Src: parsed(f)"], task: "review PR #142 for races", postconditions: ["reviewed(pr) = ⊤"] },
      { preconditions: ["compiled(src)"], task: "run the unit tests of parser.ts", postconditions: ["passed(all)"], evidence: { prover: "bun-test", method: "test-execution" as const, confidence: 0.9 } },
      { preconditions: [], task: "summarise failing tests", postconditions: [] },
    ];
    const N = 6000;
    const started = performance.now();
    let last: AISPMessage | undefined;
    for (let i = 0; i < N; i += 500) {
      const batch: Promise<unknown>[] = [];
      for (let k = i; k < i + 500; k++) {
        const from = agents[k % 5];
        const to = agents[(k + 1) % 5];
        const conv = `conv-${Math.floor(k / 4)}`;
        const m = testMessage(k, {
          sender: from,
          receiver: to,
          type: k % 4 === 3 ? "result" : "task",
          conversationId: conv,
          tier: tiers[k % 5],
          spec: specs[k % 5],
        });
        last = m;
        batch.push(env.bus.send(m));
      }
      await Promise.all(batch);
    }
    const publishMs = performance.now() - started;
    await page.waitForFunction((n: number) => Number(document.getElementById("total")!.textContent) + Number(document.getElementById("dropped")!.textContent) >= n, N, { timeout: 20_000 });
    // The page still answers, shows the newest message on top, and keeps a bounded history and table.
    const t0 = performance.now();
    const state = await page.evaluate(() => ({
      rows: document.querySelectorAll("tr.msg").length,
      kept: Number(document.getElementById("kept")!.textContent),
      top: (document.querySelector("tr.msg") as HTMLElement).dataset.id,
    }));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(state.rows).toBeLessThanOrEqual(500);
    expect(state.kept).toBeLessThanOrEqual(5000);
    await page.waitForFunction((id: string) => (document.querySelector("tr.msg") as HTMLElement).dataset.id === id, last!.id);
    console.log(`published ${N} messages in ${publishMs.toFixed(0)} ms; page kept ${state.kept}, showed ${state.rows} rows`);
    await page.click("tr.msg:nth-child(3)");
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "under-load.png") });
    console.log(`screenshot: ${join(ARTIFACTS, "under-load.png")}`);
    expect(page.errors).toEqual([]);
    await page.close();
  }, 60_000);

  test("the SDK bundle publishes from the page over WebSocket; a client on the Unix socket receives it", async () => {
    const page = await openPage();
    const inbox = env.bus.streamIter("inbox.node-agent", { from: "$" });
    await new Promise((r) => setTimeout(r, 50));
    const ws = env.http.replace(/^http/, "ws");
    const sent = await page.evaluate(async (url: string) => {
      const sdk = await import("/ampbus.js" as string);
      const web = await sdk.connect({ url, name: "chromium-agent" });
      const msg = new sdk.AISPMessageBuilder().setSender("chromium-agent").setReceiver("node-agent").setPreconditions(["∀f ∈ Src: parsed(f)"]).setTask("hello from a browser").setPostconditions(["reviewed(pr) = ⊤"]).setTier("silver").build();
      const r = await web.send(msg);
      const pong = await web.ping();
      await web.close();
      return { id: msg.id, entryId: r.entryId, runtime: sdk.runtime, pong };
    }, `${ws}/ws/bus`);
    expect(sent.runtime).toBe("browser");
    expect(typeof sent.pong).toBe("number");
    const got = (await inbox.next()).value!;
    expect(got.entryId).toBe(sent.entryId);
    expect(got.message.id).toBe(sent.id);
    expect(got.message.spec!.task).toBe("hello from a browser");
    expect(got.message.sender).toBe("chromium-agent");
    await inbox.return?.();
    expect(page.errors).toEqual([]);
    await page.close();
  }, 60_000);
});
