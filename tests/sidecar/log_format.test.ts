/**
 * `--log-format json`: every line ampd writes to stderr is one JSON object
 * with time, level, component and message; the text form stays as it was.
 * Checked on the Logger and on a real ampd through start-up, a refused
 * hello and shutdown.
 */
import { describe, expect, test } from "bun:test";
import { connect } from "../../mod.ts";
import { componentOf, Logger } from "../../sidecar/log.ts";
import { Ampd, runAmpd } from "../_helpers/ampd.ts";

describe("Logger", () => {
  test("json: one object a line, component and fields read off the message's opening", () => {
    const lines: string[] = [];
    const log = new Logger({ level: "info", format: "json", sink: (l) => lines.push(l) });
    log.warn("client 7 (coder, unix socket): no hello within 5000 ms of connecting; closing");
    log.info("backend redis: ready");
    log.info("scrape served", { component: "http", bytes: 5120 });
    log.debug("not written at info");
    log.error('a "quoted"\nmultiline message');
    expect(lines.length).toBe(4);
    const objs = lines.map((l) => JSON.parse(l));
    for (const o of objs) {
      expect(Object.keys(o).slice(0, 4)).toEqual(["time", "level", "component", "message"]);
      expect(new Date(o.time).toISOString()).toBe(o.time);
    }
    expect(objs[0]).toMatchObject({ level: "warn", component: "session", client: 7 });
    expect(objs[1]).toMatchObject({ level: "info", component: "backend", backend: "redis", message: "backend redis: ready" });
    expect(objs[2]).toMatchObject({ component: "http", bytes: 5120, message: "scrape served" });
    expect(objs[3]).toMatchObject({ level: "error", component: "ampd", message: 'a "quoted"\nmultiline message' });
    for (const l of lines) expect(l.includes("\n")).toBe(false);
  });

  test("text: the line as before", () => {
    const lines: string[] = [];
    new Logger({ level: "debug", sink: (l) => lines.push(l) }).debug("http: refused a request");
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ampd DEBUG http: refused a request$/);
  });

  test("componentOf", () => {
    expect(componentOf("subscription 3: backend error")).toEqual({ component: "subscription", fields: { subscription: 3 } });
    expect(componentOf("SIGHUP: keyring reloaded")).toEqual({ component: "keyring" });
    expect(componentOf("ready in 3 ms")).toEqual({ component: "ampd" });
  });
});

describe("ampd --log-format", () => {
  test("json: every stderr line of a real ampd is a JSON object", async () => {
    const ampd = await Ampd.start({ args: ["--backend", "memory", "--log-format", "json", "--token", "right"] });
    try {
      await expect(connect({ socket: ampd.socket, token: "wrong", name: "guesser", reconnect: false } as never)).rejects.toThrow();
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      expect(await ampd.stop()).toBe(0);
    }
    const lines = ampd.stderr.trim().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const objs = lines.map((l) => JSON.parse(l));
    for (const o of objs) {
      expect(typeof o.time).toBe("string");
      expect(["error", "warn", "info", "debug"]).toContain(o.level);
      expect(typeof o.component).toBe("string");
      expect(typeof o.message).toBe("string");
    }
    expect(objs.find((o) => o.message.startsWith("backend memory:"))).toMatchObject({ level: "warn", component: "backend", backend: "memory" });
    expect(objs.find((o) => o.message.startsWith("ready in"))).toMatchObject({ level: "info", component: "ampd" });
    expect(objs.some((o) => o.level === "warn" && o.message.includes("wrong token"))).toBe(true);
    expect(objs[objs.length - 1]).toMatchObject({ message: "stopped", component: "ampd" });
  }, 30_000);

  test("a bad value is refused naming the flag and the choices", async () => {
    const r = await runAmpd(["--backend", "memory", "--log-format", "yaml"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--log-format must be one of text, json");
  });
});
