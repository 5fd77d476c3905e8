/**
 * DNS rebinding and cross-site WebSockets against `ampd --http`, without a
 * token: a page on `http://evil.example` that resolves to 127.0.0.1 sends
 * `Host: evil.example` (and `Origin: http://evil.example`). Requests are
 * written by hand over TCP so that the `Host` header is exactly what a
 * browser would send.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect as tcpConnect } from "node:net";
import type { Ampd } from "../_helpers/ampd.ts";
import { startLive } from "./_live.ts";
import { decode } from "@msgpack/msgpack";

/** Sends one HTTP/1.1 request and returns the status line's code and the body. */
function rawGet(base: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: u.hostname, port: Number(u.port) });
    let got = "";
    s.on("data", (d: Buffer) => {
      got += d.toString("latin1");
      if (/^HTTP\/1\.1 101 /.test(got) && got.includes("\r\n\r\n")) s.destroy(); // upgraded: no body follows
    });
    s.on("error", reject);
    s.on("close", () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0);
      resolve({ status, body: got.slice(got.indexOf("\r\n\r\n") + 4) });
    });
    const lines = [`GET ${path} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), "Connection: close", "", ""];
    s.write(lines.join("\r\n"));
    setTimeout(() => s.destroy(), 3000).unref();
  });
}

const UPGRADE = { Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" };

describe("ampd --http checks Host and Origin", () => {
  let ampd: Ampd;
  let http: string;
  let port: string;
  beforeAll(async () => {
    ({ ampd, http } = await startLive());
    port = new URL(http).port;
  });
  afterAll(async () => {
    await ampd.dispose();
  });

  test("a rebound name (Host: evil.example) is refused on every path, the bus socket included", async () => {
    for (const path of ["/", "/ampbus.js", "/ws/mirror", "/ws/bus"]) {
      const r = await rawGet(http, path, { Host: `evil.example:${port}`, ...(path.startsWith("/ws") ? UPGRADE : {}) });
      expect(r.status).toBe(403);
      expect(r.body).toContain("--http-allow-host");
    }
    // The same connection with the same Origin as Host: a rebinding page sends exactly this.
    const ws = await rawGet(http, "/ws/bus", { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}`, ...UPGRADE });
    expect(ws.status).toBe(403);
    expect(ampd.stderr).toMatch(/refused a request for Host "evil\.example/);
  });

  test("loopback names are served; a foreign Origin on a loopback Host is refused", async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      expect((await rawGet(http, "/", { Host: host })).status).toBe(200);
    }
    const upgraded = await rawGet(http, "/ws/bus", { Host: `127.0.0.1:${port}`, Origin: `http://127.0.0.1:${port}`, ...UPGRADE });
    expect(upgraded.status).toBe(101);
    const foreign = await rawGet(http, "/ws/bus", { Host: `127.0.0.1:${port}`, Origin: "http://evil.example", ...UPGRADE });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toContain("--http-allow-origin");
    // No Origin at all: not a browser, allowed.
    expect((await rawGet(http, "/ws/bus", { Host: `127.0.0.1:${port}`, ...UPGRADE })).status).toBe(101);
  });

  test("a missing or malformed Host is refused", async () => {
    expect((await rawGet(http, "/", { Host: "a b" })).status).toBeOneOf([400, 403]);
    expect((await rawGet(http, "/", { Host: "user@127.0.0.1" })).status).toBeOneOf([400, 403]);
  });
});

test("--http-allow-host and --http-allow-origin admit the names and origins they list", async () => {
  const { ampd, http } = await startLive(["--http-allow-host", "ampd.internal", "--http-allow-origin", "https://app.example:3000"]);
  try {
    const port = new URL(http).port;
    expect((await rawGet(http, "/", { Host: `ampd.internal:${port}` })).status).toBe(200);
    expect((await rawGet(http, "/", { Host: `evil.example:${port}` })).status).toBe(403);
    const allowed = await rawGet(http, "/ws/bus", { Host: `127.0.0.1:${port}`, Origin: "https://app.example:3000", ...UPGRADE });
    expect(allowed.status).toBe(101);
    const other = await rawGet(http, "/ws/bus", { Host: `127.0.0.1:${port}`, Origin: "https://app.example:3001", ...UPGRADE });
    expect(other.status).toBe(403);
  } finally {
    await ampd.dispose();
  }
  const { ampd: bad } = await startLive(["--http-allow-origin", "not an origin"]).catch((e) => ({ ampd: undefined, e }));
  expect(bad).toBeUndefined();
});

test("/ws/bus sessions have the socket's deadlines: no hello within --hello-timeout closes the WebSocket with HELLO_TIMEOUT", async () => {
  const { ampd, http } = await startLive(["--hello-timeout", "1s"]);
  try {
    const ws = new WebSocket(`${http.replace(/^http/, "ws")}/ws/bus`);
    ws.binaryType = "arraybuffer";
    const frames: Uint8Array[] = [];
    ws.onmessage = (e) => frames.push(new Uint8Array(e.data as ArrayBuffer));
    const t0 = Date.now();
    const code = await new Promise<number>((resolve) => (ws.onclose = (e) => resolve(e.code)));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(code).toBe(1000);
    const body = decode(Buffer.concat(frames).subarray(4)) as { rid: null; error: { code: string } };
    expect(body.rid).toBeNull();
    expect(body.error.code).toBe("HELLO_TIMEOUT");
  } finally {
    await ampd.dispose();
  }
});
