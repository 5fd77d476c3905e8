/**
 * ampd's HTTP server (`ampd --http HOST:PORT`, Bun.serve): the live-view page,
 * the SDK's browser bundle, the WebSocket mirror of every added message, and
 * the sidecar protocol over WebSocket for agents that cannot open a Unix
 * socket. With a keyring, a mirror watcher must first prove an admin
 * agent's key (mirror_auth.ts) and /ws/bus sessions authenticate as on the
 * socket. Also `/healthz`, `/readyz` and `/metrics` (exposition.ts).
 * docs/live-view.md describes the endpoints; docs/operations.md the metrics.
 *
 * This file checks every request (Host, Origin, token), answers the pages
 * and upgrades the WebSockets; what a socket then does is
 * mirror_socket.ts's (`/ws/mirror`) or bus_socket.ts's (`/ws/bus`).
 *
 * @module
 */
import type { Server, ServerWebSocket } from "bun";
import { type HttpAddress, isLoopback } from "./address.ts";
import type { Mirror } from "./mirror.ts";
import { filterFromQuery, type MirrorFilter } from "./mirror_filter.ts";
import { networkInterfaces } from "node:os";
import { show, tokensEqual } from "../protocol.ts";
import type { ServerState } from "../server_state.ts";
import pageText from "./index.html" with { type: "text" };
import { health, METRICS_CONTENT_TYPE, readiness, renderMetrics } from "./exposition.ts";
import { backfillCount, type MirrorData, mirrorSockets } from "./mirror_socket.ts";
import { type BusData, busSockets } from "./bus_socket.ts";
import type { SocketEvents } from "./_socket_events.ts";

export { type HttpAddress, isLoopback, parseHttpAddress } from "./address.ts";
import { sdkBundle } from "./sdk_bundle.ts" with { type: "macro" };

/** The live-view page, embedded at compile time. */
const PAGE = pageText as unknown as string;
/** The SDK bundled for browsers, embedded at compile time by a Bun macro. */
const SDK_BUNDLE: string = sdkBundle();

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
  const maxFrame = state.config.maxFrame;
  const hostAllowed = hostAllowedBy(o.host, o.allowHosts ?? []);
  const allowOrigins = new Set((o.allowOrigins ?? []).map((x) => new URL(x).origin));
  const mirrors = mirrorSockets(state, mirror);
  const buses = busSockets(state);
  // The kind a socket was opened as answers its events.
  const eventsOf = (ws: ServerWebSocket<MirrorData | BusData>) => (ws.data.kind === "mirror" ? mirrors : buses) as SocketEvents<MirrorData | BusData>;

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
      open: (ws) => eventsOf(ws).open(ws),
      message: (ws, message) => eventsOf(ws).message(ws, message),
      drain: (ws) => eventsOf(ws).drain(ws),
      close: (ws) => eventsOf(ws).close(ws),
    },
  });

  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${server.port}`,
    async shutdown() {
      mirrors.stop();
      buses.closeAll();
      await server.stop(true);
    },
  };
}
