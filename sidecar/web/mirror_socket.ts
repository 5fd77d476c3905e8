/**
 * The live view's WebSocket, `/ws/mirror`: a watcher proves an admin agent's
 * key first when ampd has a keyring (mirror_auth.ts), then receives every
 * added message its filter passes (mirror.ts), and may ask for a new filter,
 * the consumer-group panel (groups_view.ts) or the last entries of its
 * streams (backfill.ts). http.ts upgrades the request and hands the socket's
 * events here. docs/live-view.md describes the frames.
 *
 * @module
 */
import type { ServerWebSocket } from "bun";
import { toBase64 } from "../../sdk/codec/base64.ts";
import type { ServerState } from "../server_state.ts";
import { newNonce } from "../trust.ts";
import { backfill, DEFAULT_BACKFILL, MAX_BACKFILL } from "./backfill.ts";
import { groupsPanel } from "./groups_view.ts";
import type { Mirror, MirrorWatcher } from "./mirror.ts";
import { MirrorAuthError, type MirrorIdentity, MirrorRevoker, verifyMirrorAuth } from "./mirror_auth.ts";
import { type FilterError, type MirrorFilter, parseFilter } from "./mirror_filter.ts";
import type { SocketEvents } from "./_socket_events.ts";

/** What ampd keeps of a `/ws/mirror` socket. */
export interface MirrorData {
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

type MirrorWs = ServerWebSocket<MirrorData>;

/** The events of `/ws/mirror` sockets, as Bun.serve's `websocket` delivers them. */
export interface MirrorSockets extends SocketEvents<MirrorData> {
  /** Stops checking watchers against keyring reloads, and unhooks the mirror. */
  stop(): void;
}

/** The `/ws/mirror` sockets of one HTTP server, on `mirror`. */
export function mirrorSockets(state: ServerState, mirror: Mirror): MirrorSockets {
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

  return {
    open(ws) {
      const d = ws.data;
      // Read at each connection: a reload replaces state.trust.
      if (!state.trust.authRequired) return startWatching(ws);
      d.nonce = newNonce();
      const ms = state.helloTimeoutMs;
      d.authTimer = setTimeout(() => {
        state.counters.timeouts++;
        endMirror(ws, "HELLO_TIMEOUT", `no auth within ${ms} ms of connecting; closing`);
      }, ms);
      ws.sendText(JSON.stringify({ auth: { nonce: toBase64(d.nonce) } }));
    },
    message(ws, message) {
      const d = ws.data;
      if (d.phase === "auth") return onMirrorAuth(ws, message);
      if (d.phase === "closing") return;
      revoker.check();
      if (d.phase === "open") {
        const req = onMirrorMessage(ws, message);
        if (req === "groups") void sendGroups(ws);
        else if (typeof req === "number") void sendBackfill(ws, req);
      }
    },
    drain(ws) {
      const d = ws.data;
      if (d.phase === "open") d.watcher?.flush();
    },
    close(ws) {
      const d = ws.data;
      clearTimeout(d.authTimer);
      d.phase = "closing";
      if (d.watcher) mirror.detach(d.watcher);
      revoker.delete(ws);
    },
    stop() {
      revoker.stop();
      mirror.beforePublish = undefined;
    },
  };
}

/** `?backfill=N`: an entry count from 0 to `MAX_BACKFILL`, `DEFAULT_BACKFILL` when absent; a string says what is wrong. */
export function backfillCount(text: string | null | number): number | string {
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
function onMirrorMessage(ws: MirrorWs, message: string | Uint8Array): "groups" | number | undefined {
  const d = ws.data;
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
