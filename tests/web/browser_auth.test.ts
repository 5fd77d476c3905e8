/**
 * The live view on an ampd with a keyring, in headless Chromium: the page
 * asks for a key, refuses a non-admin's, signs in with an Ed25519 key file
 * (chosen as a file) and an HMAC one (pasted), signing with WebCrypto; keeps
 * the key in memory only; shows the messages added; and signs in again by
 * itself when a reload closes its watcher.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AmpClient, connect } from "../../mod.ts";
import type { Ampd } from "../_helpers/ampd.ts";
import { browserMissing, launchChromium, makeAgent, startLive, type TestAgent, testMessage, writeKeyring } from "./_live.ts";

const missing = await browserMissing();

describe.skipIf(missing !== undefined)("the live view with a keyring, in headless Chromium", () => {
  let ampd: Ampd;
  let http: string;
  let dir: string;
  let keyringPath: string;
  // deno-lint-ignore no-explicit-any
  let browser: any;
  let bus: AmpClient;
  let ops: TestAgent, viewer: TestAgent, coder: TestAgent, planner: TestAgent;
  const rules: Record<string, Record<string, unknown>> = {
    ops: { admin: true },
    viewer: { admin: true },
    planner: { publish: ["inbox.*"] },
  };

  beforeAll(async () => {
    [ops, viewer, coder, planner] = await Promise.all([makeAgent("ops"), makeAgent("viewer", "hmac-sha256"), makeAgent("coder", "hmac-sha256"), makeAgent("planner")]);
    dir = mkdtempSync(join(tmpdir(), "ampd-web-keyring-"));
    keyringPath = join(dir, "keyring.json");
    writeKeyring(keyringPath, [ops, viewer, coder, planner], rules);
    ({ ampd, http } = await startLive(["--keyring", keyringPath]));
    browser = await launchChromium();
    bus = await connect({ socket: ampd.socket, agent: "planner", key: planner.key, reconnect: false });
  }, 30_000);
  afterAll(async () => {
    await bus?.close();
    await browser?.close();
    await ampd?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  // deno-lint-ignore no-explicit-any
  const text = (page: any, sel: string): Promise<string> => page.textContent(sel);
  // deno-lint-ignore no-explicit-any
  const rowIds = (page: any): Promise<string[]> => page.$$eval("tr.msg", (trs: HTMLElement[]) => trs.map((tr) => tr.dataset.id!));

  test("asks for a key, refuses a non-admin's, signs in with Ed25519 (file) and HMAC (pasted) keys and shows messages", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    const errors: string[] = [];
    page.on("pageerror", (e: Error) => errors.push(e.message));
    await page.goto(`${http}/`);
    await page.waitForSelector("#login:not([hidden])");
    expect(await text(page, "#status")).toBe("this ampd has a keyring: sign in with an admin agent's key");

    // A non-admin's key: ampd refuses it, the page says why and asks again.
    await page.fill("#key-text", coder.keyFile);
    await page.click("#login-go");
    await page.waitForFunction(() => document.getElementById("login-error")!.textContent!.includes("not an admin"));
    expect(await page.isVisible("#login")).toBe(true);
    expect(await page.inputValue("#key-text")).toBe(""); // the pasted key is not left in the page

    // Not a key file.
    await page.fill("#key-text", '{"agent": "ops"}');
    await page.click("#login-go");
    await page.waitForFunction(() => document.getElementById("login-error")!.textContent!.startsWith("not a usable key file: kid must be"));

    // An admin's Ed25519 key file, chosen as a file: signed in at once.
    await page.setInputFiles("#key-file", { name: "ops.key", mimeType: "application/json", buffer: Buffer.from(ops.keyFile) });
    await page.waitForFunction(() => document.getElementById("status")!.textContent === "connected");
    expect(await page.isVisible("#login")).toBe(false);
    expect(await text(page, "#who")).toBe("as ops (key ops-1)");
    const m1 = testMessage(1, { sender: "planner", receiver: "coder", tier: "reject", spec: { preconditions: [], task: "seen by an admin", postconditions: [] } });
    await bus.send(m1);
    await page.waitForFunction((id: string) => document.querySelector(`tr.msg[data-id="${id}"]`) !== null, m1.id);
    expect(await text(page, `tr.msg[data-id="${m1.id}"] .c-task`)).toBe("seen by an admin");
    // Memory only: nothing in storage, and the key is not extractable from the page.
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie])).toEqual([0, 0, ""]);
    expect(ampd.stderr).toContain("is agent ops (key ops-1)");

    // Forget it; sign in as another admin, with a pasted HMAC key file.
    await page.click("#logout");
    await page.waitForSelector("#login:not([hidden])");
    expect(await page.isVisible("#who")).toBe(false);
    await page.fill("#key-text", viewer.keyFile);
    await page.click("#login-go");
    await page.waitForFunction(() => document.getElementById("who")!.textContent === "as viewer (key viewer-1)");
    await page.waitForFunction(() => document.getElementById("status")!.textContent === "connected");
    const m2 = testMessage(2, { sender: "planner", receiver: "coder" });
    await bus.send(m2);
    await page.waitForFunction((id: string) => document.querySelector(`tr.msg[data-id="${id}"]`) !== null, m2.id);
    expect((await rowIds(page)).slice(0, 2)).toEqual([m2.id, m1.id]);

    // A reload that changes viewer's entry (still an admin) closes the watcher; the page signs in again with the key it holds.
    writeKeyring(keyringPath, [ops, viewer, coder, planner], { ...rules, viewer: { admin: true, subscribe: ["tasks.>"] } });
    process.kill(ampd.pid, "SIGHUP");
    await page.waitForFunction(() => document.getElementById("status")!.textContent!.includes("the keyring entry of agent viewer changed"));
    await page.waitForFunction(() => document.getElementById("status")!.textContent === "connected", undefined, { timeout: 10_000 });
    const m3 = testMessage(3, { sender: "planner", receiver: "coder" });
    await bus.send(m3);
    await page.waitForFunction((id: string) => document.querySelector(`tr.msg[data-id="${id}"]`) !== null, m3.id);

    // A reload that takes admin away: the page is refused and asks for a key again.
    writeKeyring(keyringPath, [ops, viewer, coder, planner], { ...rules, viewer: {} });
    process.kill(ampd.pid, "SIGHUP");
    await page.waitForSelector("#login:not([hidden])", { timeout: 10_000 });
    await page.waitForFunction(() => document.getElementById("login-error")!.textContent!.includes("agent viewer is not an admin"));
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  test("the SDK bundle in the page connects over /ws/bus with an agent's key file, and publishes signed; without the key it is refused", async () => {
    const page = await browser.newPage();
    await page.goto(`${http}/`);
    const inbox = bus.streamIter("inbox.planner", { from: "$" });
    await new Promise((r) => setTimeout(r, 50));
    const ws = http.replace(/^http/, "ws");
    const got = await page.evaluate(async (o: { url: string; keyFile: string }) => {
      const sdk = await import("/ampbus.js" as string);
      let refused = "";
      try {
        await sdk.connect({ url: o.url, name: "anonymous", reconnect: false });
      } catch (e) {
        refused = (e as { code: string }).code;
      }
      const { agent, key } = await sdk.parseKeyFile(o.keyFile);
      const web = await sdk.connect({ url: o.url, agent, key, reconnect: false });
      const msg = new sdk.AISPMessageBuilder().setSender(agent).setReceiver("planner").setTask("hello from a signed-in browser").setTier("reject").build();
      const r = await web.send(msg);
      await web.close();
      return { refused, id: msg.id, entryId: r.entryId, agent };
    }, { url: `${ws}/ws/bus`, keyFile: planner.keyFile });
    expect(got.refused).toBe("AUTH_FAILED");
    const e = (await inbox.next()).value!;
    expect(e.entryId).toBe(got.entryId);
    expect(e.message.sender).toBe("planner");
    expect(e.message.sig?.kid).toBe("planner-1"); // signed in the browser with the key file's Ed25519 key
    await inbox.return?.();
    await page.close();
  }, 30_000);
});
