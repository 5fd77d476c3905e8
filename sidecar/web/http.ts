/**
 * ampd's HTTP server (`ampd --http HOST:PORT`, Bun.serve): the live-view page,
 * the SDK's browser bundle, the WebSocket mirror of every added message, and
 * the sidecar protocol over WebSocket for agents that cannot open a Unix
 * socket. With a keyring, a mirror watcher must first prove an admin
 * agent's key (mirror_auth.ts) and /ws/bus sessions authenticate as on the
 * socket. Also `/healthz`, `/readyz` and `/metrics` (exposition.ts).
 * docs/live-view.md describes the endpoints; docs/operations.md the metrics.
 *
 * @module
 */
import type { Server, ServerWebSocket } from "bun";
import { type HttpAddress, isLoopback } from "./address.ts";
import { Mirror, type MirrorWatcher } from "./mirror.ts";
import { FilterError, filterFromQuery, type MirrorFilter, parseFilter } from "./mirror_filter.ts";
import { networkInterfaces } from "node:os";
import { show, tokensEqual } from "../protocol.ts";
import { Session, type Wire } from "../session.ts";
import type { ServerState } from "../server_state.ts";
import { toBase64 } from "../../sdk/codec/base64.ts";
import { newNonce } from "../trust.ts";
import { MirrorAuthError, type MirrorIdentity, MirrorRevoker, verifyMirrorAuth } from "./mirror_auth.ts";
import pageText from "./index.html" with { type: "text" };
import { health, METRICS_CONTENT_TYPE, readiness, renderMetrics } from "./exposition.ts";
import { backfill, DEFAULT_BACKFILL, MAX_BACKFILL } from "./backfill.ts";
import { groupsPanel } from "./groups_view.ts";

export { type HttpAddress, isLoopback, parseHttpAddress } from "./address.ts";
import { sdkBundle } from "./sdk_bundle.ts" with { type: "macro" };

/** The live-view page, embedded at compile time. */
const PAGE = pageText as unknown as string;
/** The SDK bundled for browsers, embedded at compile time by a Bun macro. */
const SDK_BUNDLE: string = sdkBundle();

/** Bytes a /ws/bus socket may buffer before replies wait in ampd's own queue: 1 MiB. */
const BUS_HIGH_WATER = 1024 * 1024;

/** Options of `listenHttp()`. */
export interface HttpOptions extends HttpAddress {
  /** The mirror that `/ws/mirror` watchers attach to. */
  mirror: Mirror;
  /**
   * Host names (besides loopback names and the listening address) that a
   * request's `Host` header may carry: the names this ampd is reached by
   * through a proxy or DNS. Defaults to none.
   */
  allowHosts?: readonly string[];
  /**
   * Origins (`https://app.example:3000`) whose pages may open WebSockets,
   * besides pages served by ampd itself. Defaults to none.
   */
  allowOrigins?: readonly string[];
}

/** The host name of a `Host` header (`[::1]:8080` → `::1`), lower-cased; undefined when malformed. */
export function hostOfHeader(host: string | null): string | undefined {
  if (host === null) return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s\[\]/@]+))(?::\d{1,5})?$/.exec(host);
  return m ? (m[1] ?? m[2]).toLowerCase() : undefined;
}

/**
 * The `Host` check that stops DNS rebinding: a page on `http://evil.example`
 * whose name an attacker points at 127.0.0.1 reaches ampd with
 * `Host: evil.example`, so only loopback names, the address ampd listens on
 * (every address of this machine when it listens on all of them) and
 * `allowHosts` are served.
 */
export function hostAllowedBy(listenHost: string, allowHosts: readonly string[]): (host: string | null) => boolean {
  const allowed = new Set<string>([listenHost.toLowerCase(), ...allowHosts.map((h) => h.toLowerCase())]);
  if (listenHost === "0.0.0.0" || listenHost === "::") {
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) allowed.add(a.address.toLowerCase());
  }
  return (header) => {
    const name = hostOfHeader(header);
    return name !== undefined && (isLoopback(name) || allowed.has(name));
  };
}

/** A running HTTP server. */
export interface HttpServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  /** Closes every WebSocket and stops listening. */
  shutdown(): Promise<void>;
}

interface MirrorData {
  kind: "mirror";
  filter: MirrorFilter;
  watcher?: MirrorWatcher;
  /** The client's address, for logs. */
  peer: string;
  /**
   * `"auth"`: on an ampd with a keyring, waiting for the one auth answer to
   * `nonce` (nothing is sent to it before); `"open"`: watching; `"closing"`:
   * refused or revoked, reading nothing more.
   */
  phase: "auth" | "open" | "closing";
  nonce?: Uint8Array;
  authTimer?: ReturnType<typeof setTimeout>;
  /** The admin agent it proved to be (with a keyring). */
  identity?: MirrorIdentity;
  /** Entries of its streams' past to send once watching (`?backfill=N`). */
  backfill: number;
  /** A `{"groups": {}}` request is being answered. */
  groupsBusy?: boolean;
}

interface BusData {
  kind: "bus";
  session?: Session;
  pending: Uint8Array[];
  pendingBytes: number;
  endWhenDrained: boolean;
  /** The client's address, for logs. */
  peer: string;
}

type WsData = MirrorData | BusData;

/** The token of a request: `?token=`, or `Authorization: Bearer <token>`. */
function requestToken(req: Request, url: URL): string | undefined {
  const q = url.searchParams.get("token");
  if (q !== null) return q;
  const h = req.headers.get("authorization");
  return h?.startsWith("Bearer ") ? h.slice(7) : undefined;
}

/**
 * Browsers send `Origin` with WebSocket upgrades and let any site open one to
 * 127.0.0.1. Only pages from ampd itself, origins in `allowOrigins`, and
 * clients that are not browsers (no `Origin`) may connect, token or not.
 */
function originAllowed(req: Request, allowOrigins: ReadonlySet<string>): boolean {
  const origin = req.headers.get("origin");
  if (origin === null) return true;
  try {
    const u = new URL(origin);
    return u.host === req.headers.get("host")?.toLowerCase() || allowOrigins.has(u.origin);
  } catch {
    return false;
  }
}

function text(status: number, body: string): Response {
  return new Response(`${body}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

function json(status: number, body: unknown): Response {
  return new Response(`${JSON.stringify(body)}\n`, { status, headers: { "content-type": "application/json", "cache-control": "no-store" } });
}

/**
 * Starts the HTTP server.
 *
 * @example
 * ```ts
 * const http = listenHttp(state, { host: "127.0.0.1", port: 8080, mirror });
 * console.log(`live view at ${http.url}/`);
 * ```
 */
export function listenHttp(state: ServerState, o: HttpOptions): HttpServer {
  const { mirror } = o;
  const token = state.config.token;
  const sessions = new Set<Session>();
  let nextId = 1_000_001; // apart from the socket server's ids in the logs
  const maxFrame = state.config.maxFrame;
  const hostAllowed = hostAllowedBy(o.host, o.allowHosts ?? []);
  const allowOrigins = new Set((o.allowOrigins ?? []).map((x) => new URL(x).origin));
  type MirrorWs = ServerWebSocket<WsData> & { data: MirrorData };

  // Sends the error frame of a refused or ended auth and closes (1008, policy violation).
  const endMirror = (ws: MirrorWs, code: string, message: string): void => {
    const d = ws.data;
    if (d.phase === "closing") return;
    d.phase = "closing";
    clearTimeout(d.authTimer);
    if (d.watcher) mirror.detach(d.watcher);
    revoker.delete(ws);
    try {
      ws.sendText(JSON.stringify({ error: { code, message } }));
      ws.close(1008, code);
    } catch {
      // already closed by the peer
    }
  };
  // Watchers of agents a keyring reload removed or changed are closed, as the protocol's connections are.
  const revoker = new MirrorRevoker<MirrorWs>({
    current: () => state.trust,
    revoke(ws, reason) {
      state.log.info(`http: live-view watcher ${ws.data.peer} (agent ${ws.data.identity?.agent}): ${reason}; closing`);
      endMirror(ws, "AUTH_REVOKED", reason);
    },
  });
  mirror.beforePublish = () => void revoker.check();

  const startWatching = (ws: MirrorWs): void => {
    const d = ws.data;
    d.phase = "open";
    d.watcher = mirror.attach(ws, d.filter);
    ws.sendText(JSON.stringify({ filter: d.filter }));
    if (d.backfill > 0) void sendBackfill(ws, d.backfill);
  };

  // The last `n` entries of the watcher's streams, as frames with "backfill": true, then {"backfilled": count}.
  const sendBackfill = async (ws: MirrorWs, n: number): Promise<void> => {
    const d = ws.data;
    let entries;
    try {
      entries = await backfill(state.backend, { filter: d.filter, n });
    } catch (e) {
      if (d.phase === "open") ws.sendText(JSON.stringify({ error: { code: "BACKFILL_FAILED", message: `cannot read the last entries of the streams: ${(e as Error).message}` } }));
      return;
    }
    let sent = 0;
    for (const e of entries) {
      if (d.phase !== "open") return;
      let frame: string;
      try {
        frame = mirror.frame(e, { backfill: true });
      } catch {
        continue; // not a message (bytes written around ampd): left out
      }
      ws.sendText(frame);
      sent++;
    }
    if (d.phase === "open") ws.sendText(JSON.stringify({ backfilled: sent }));
  };

  // The consumer-group panel of the watcher's streams.
  const sendGroups = async (ws: MirrorWs): Promise<void> => {
    const d = ws.data;
    if (d.groupsBusy) return; // one at a time; the page asks again
    d.groupsBusy = true;
    try {
      const panel = await groupsPanel(state, d.filter);
      if (d.phase === "open") ws.sendText(JSON.stringify({ groups: panel }));
    } catch (e) {
      if (d.phase === "open") ws.sendText(JSON.stringify({ error: { code: "GROUPS_FAILED", message: `cannot read the consumer groups: ${(e as Error).message}` } }));
    } finally {
      d.groupsBusy = false;
    }
  };

  // The one auth answer of a watcher on an ampd with a keyring.
  const onMirrorAuth = (ws: MirrorWs, message: string | Uint8Array): void => {
    const d = ws.data;
    const nonce = d.nonce!;
    d.nonce = undefined; // one nonce, one try
    clearTimeout(d.authTimer);
    let answer: unknown;
    try {
      answer = JSON.parse(typeof message === "string" ? message : new TextDecoder().decode(message));
    } catch {
      answer = undefined;
    }
    try {
      d.identity = verifyMirrorAuth(state.trust, { nonce, answer });
    } catch (e) {
      if (!(e instanceof MirrorAuthError)) throw e;
      if (e.code === "FORBIDDEN") {
        state.counters.forbidden++;
        state.log.warn(`http: live-view watcher ${d.peer}: ${e.message}; closing`);
      } else state.noteAuthFailure(d.peer, e.agent ?? "live view", `live view: ${e.reason}`);
      endMirror(ws, e.code, e.message);
      return;
    }
    const { agent, kid } = d.identity;
    state.log.info(`http: live-view watcher ${d.peer} is agent ${agent} (key ${kid})`);
    revoker.add(ws, d.identity);
    ws.sendText(JSON.stringify({ authenticated: { agent, kid } }));
    startWatching(ws);
  };

  const server: Server<WsData> = Bun.serve<WsData>({
    hostname: o.host,
    port: o.port,
    fetch(req, server) {
      const host = req.headers.get("host");
      if (!hostAllowed(host)) {
        state.log.warn(`http: refused a request for Host ${show(host)} (not a loopback name or an address ampd listens on)`);
        return text(403, `Host ${show(host)} is not served here: ampd answers loopback names and the address it listens on; start it with --http-allow-host NAME to add a name`);
      }
      const url = new URL(req.url);
      const path = url.pathname;
      if (req.method !== "GET" && req.method !== "HEAD") return text(405, "only GET");
      if (path === "/" || path === "/index.html") {
        return new Response(PAGE, {
          headers: {
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-store",
            // worker-src blob:: the SDK's compression polyfill (browsers without CompressionStream) runs in a worker made from a blob URL.
            "content-security-policy":
              "default-src 'none'; script-src 'self' 'unsafe-inline'; worker-src blob:; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
          },
        });
      }
      if (path === "/healthz") return json(200, health(state));
      if (path === "/readyz") return readiness(state).then((r) => json(r.status, r.body));
      if (path === "/metrics") {
        // Stream and group names are not for everyone: with --token, a scrape carries it (Authorization: Bearer).
        if (token !== undefined) {
          const got = requestToken(req, url);
          if (got === undefined || !tokensEqual(got, token)) return text(401, got === undefined ? "this ampd requires a token: Authorization: Bearer <token>" : "wrong token");
        }
        return renderMetrics(state, { watchers: mirror.size }).then((body) =>
          new Response(body, { headers: { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" } })
        );
      }
      if (path === "/ampbus.js") {
        return new Response(SDK_BUNDLE, {
          headers: { "content-type": "text/javascript; charset=utf-8", "access-control-allow-origin": "*" },
        });
      }
      if (path !== "/ws/mirror" && path !== "/ws/bus") return text(404, `no such page: ${path}`);
      if (!originAllowed(req, allowOrigins)) {
        return text(403, `WebSocket from origin ${show(req.headers.get("origin"))} refused: only ampd's own pages may connect; start ampd with --http-allow-origin ORIGIN to allow another`);
      }
      let data: WsData;
      if (path === "/ws/mirror") {
        if (token !== undefined) {
          const got = requestToken(req, url);
          if (got === undefined || !tokensEqual(got, token)) return text(401, got === undefined ? "this ampd requires a token" : "wrong token");
        }
        let filter: MirrorFilter;
        try {
          filter = filterFromQuery(url.searchParams);
        } catch (e) {
          return text(400, (e as Error).message);
        }
        const n = backfillCount(url.searchParams.get("backfill"));
        if (typeof n === "string") return text(400, n);
        const ip = server.requestIP(req);
        data = { kind: "mirror", filter, phase: "auth", peer: ip ? `${ip.address}:${ip.port}` : "websocket", backfill: n };
      } else {
        // The token is checked by hello, as on the Unix socket.
        const ip = server.requestIP(req);
        data = { kind: "bus", pending: [], pendingBytes: 0, endWhenDrained: false, peer: ip ? `${ip.address}:${ip.port}` : "websocket" };
      }
      if (server.upgrade(req, { data })) return undefined;
      return text(426, "expected a WebSocket upgrade");
    },
    websocket: {
      // A message may carry a whole frame and its length prefix; mirror frames of big messages are larger still.
      maxPayloadLength: maxFrame + 1024,
      backpressureLimit: 3 * maxFrame + 4 * 1024 * 1024,
      open(ws) {
        const d = ws.data;
        if (d.kind === "mirror") {
          const mws = ws as MirrorWs;
          // Read at each connection: a reload replaces state.trust.
          if (!state.trust.authRequired) return startWatching(mws);
          d.nonce = newNonce();
          const ms = state.helloTimeoutMs;
          d.authTimer = setTimeout(() => {
            state.counters.timeouts++;
            endMirror(mws, "HELLO_TIMEOUT", `no auth within ${ms} ms of connecting; closing`);
          }, ms);
          ws.sendText(JSON.stringify({ auth: { nonce: toBase64(d.nonce) } }));
          return;
        }
        const session = new Session(nextId++, busWire(ws as ServerWebSocket<WsData>, d), state);
        d.session = session;
        sessions.add(session);
        state.counters.connections++;
        state.counters.connectionsTotal++;
      },
      message(ws, message) {
        const d = ws.data;
        if (d.kind === "bus") {
          if (typeof message === "string") ws.close(1003, "ampbus protocol frames are binary messages");
          else d.session!.onData(message);
          return;
        }
        if (d.phase === "auth") return onMirrorAuth(ws as MirrorWs, message);
        if (d.phase === "closing") return;
        revoker.check();
        if (d.phase === "open") {
          const req = onMirrorMessage(ws, d, message);
          if (req === "groups") void sendGroups(ws as MirrorWs);
          else if (typeof req === "number") void sendBackfill(ws as MirrorWs, req);
        }
      },
      drain(ws) {
        const d = ws.data;
        if (d.kind === "mirror") return d.phase === "open" ? d.watcher?.flush() : undefined;
        while (d.pending.length > 0 && ws.getBufferedAmount() < BUS_HIGH_WATER) {
          const head = d.pending.shift()!;
          d.pendingBytes -= head.length;
          ws.sendBinary(head);
        }
        if (d.pending.length > 0) return;
        if (d.endWhenDrained) ws.close(1000);
        else d.session?.onDrain();
      },
      close(ws) {
        const d = ws.data;
        if (d.kind === "mirror") {
          clearTimeout(d.authTimer);
          d.phase = "closing";
          if (d.watcher) mirror.detach(d.watcher);
          revoker.delete(ws as MirrorWs);
          return;
        }
        if (d.session === undefined) return;
        d.session.onClose();
        sessions.delete(d.session);
        state.counters.connections--;
      },
    },
  });

  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${server.port}`,
    async shutdown() {
      revoker.stop();
      mirror.beforePublish = undefined;
      for (const s of sessions) s.close();
      await server.stop(true);
    },
  };
}

function busWire(ws: ServerWebSocket<WsData>, d: BusData): Wire {
  return {
    write(bytes) {
      if (d.pendingBytes > 0 || ws.getBufferedAmount() >= BUS_HIGH_WATER) {
        d.pending.push(bytes);
        d.pendingBytes += bytes.length;
      } else ws.sendBinary(bytes);
    },
    buffered: () => ws.getBufferedAmount() + d.pendingBytes,
    close() {
      if (d.pendingBytes > 0) d.endWhenDrained = true;
      else ws.close(1000);
    },
    // Stops reading the peer's socket (TCP back-pressure); messages already read still arrive.
    pause: () => (ws as { pause?: () => void }).pause?.(),
    resume: () => (ws as { resume?: () => void }).resume?.(),
    peer: d.peer,
  };
}

/** `?backfill=N`: an entry count from 0 to `MAX_BACKFILL`, `DEFAULT_BACKFILL` when absent; a string says what is wrong. */
function backfillCount(text: string | null | number): number | string {
  if (text === null) return DEFAULT_BACKFILL;
  const n = typeof text === "number" ? text : /^\d{1,7}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > MAX_BACKFILL) return `backfill must be a number of entries from 0 to ${MAX_BACKFILL} (was ${JSON.stringify(text)})`;
  return n;
}

const REQUESTS = 'the requests are {"filter": {...}}, {"groups": {}} and {"backfill": N}';

/**
 * A watcher's text message: `{"filter": {...}}` replaces its filter (the
 * answer is the filter in force, or an error); `{"groups": {}}` and
 * `{"backfill": N}` are returned for the caller to answer.
 */
function onMirrorMessage(ws: ServerWebSocket<WsData>, d: MirrorData, message: string | Uint8Array): "groups" | number | undefined {
  let req: unknown;
  try {
    req = JSON.parse(typeof message === "string" ? message : new TextDecoder().decode(message));
  } catch {
    ws.sendText(JSON.stringify({ error: { code: "BAD_REQUEST", message: `send JSON text: ${REQUESTS}` } }));
    return;
  }
  if (typeof req === "object" && req !== null && Object.hasOwn(req, "groups")) return "groups";
  if (typeof req === "object" && req !== null && Object.hasOwn(req, "backfill")) {
    const n = backfillCount((req as { backfill: unknown }).backfill as number);
    if (typeof n === "string") {
      ws.sendText(JSON.stringify({ error: { code: "BAD_REQUEST", message: n } }));
      return;
    }
    return n;
  }
  if (typeof req !== "object" || req === null || !Object.hasOwn(req, "filter")) {
    ws.sendText(JSON.stringify({ error: { code: "BAD_REQUEST", message: REQUESTS } }));
    return;
  }
  try {
    d.filter = parseFilter((req as { filter: unknown }).filter);
  } catch (e) {
    const err = e as FilterError;
    ws.sendText(JSON.stringify({ error: { code: err.code ?? "BAD_FILTER", message: err.message, issues: err.issues } }));
    return;
  }
  if (d.watcher) d.watcher.filter = d.filter;
  ws.sendText(JSON.stringify({ filter: d.filter }));
}
