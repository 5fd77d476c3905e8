/**
 * The sidecar protocol over WebSocket, `/ws/bus`, for agents that cannot
 * open a Unix socket: each socket is one `Session`, as a connection to the
 * socket server is, its frames binary messages. Past `BUS_HIGH_WATER`
 * buffered in the socket, replies wait in ampd's own queue (`pending`),
 * and the session hears when the socket drains. http.ts upgrades the
 * request and hands the socket's events here.
 *
 * @module
 */
import type { ServerWebSocket } from "bun";
import type { ServerState } from "../server_state.ts";
import { Session, type Wire } from "../session.ts";
import type { SocketEvents } from "./_socket_events.ts";

/** Bytes a /ws/bus socket may buffer before replies wait in ampd's own queue: 1 MiB. */
const BUS_HIGH_WATER = 1024 * 1024;

/** What ampd keeps of a `/ws/bus` socket. */
export interface BusData {
  kind: "bus";
  session?: Session;
  pending: Uint8Array[];
  pendingBytes: number;
  endWhenDrained: boolean;
  /** The client's address, for logs. */
  peer: string;
}

type BusWs = ServerWebSocket<BusData>;

/** The events of `/ws/bus` sockets, as Bun.serve's `websocket` delivers them. */
export interface BusSockets extends SocketEvents<BusData> {
  /** Closes every session. */
  closeAll(): void;
}

/** The `/ws/bus` sockets of one HTTP server. */
export function busSockets(state: ServerState): BusSockets {
  const sessions = new Set<Session>();
  let nextId = 1_000_001; // apart from the socket server's ids in the logs
  return {
    open(ws) {
      const d = ws.data;
      const session = new Session(nextId++, busWire(ws, d), state);
      d.session = session;
      sessions.add(session);
      state.counters.connections++;
      state.counters.connectionsTotal++;
    },
    message(ws, message) {
      const d = ws.data;
      if (typeof message === "string") ws.close(1003, "ampbus protocol frames are binary messages");
      else d.session!.onData(message);
    },
    drain(ws) {
      const d = ws.data;
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
      if (d.session === undefined) return;
      d.session.onClose();
      sessions.delete(d.session);
      state.counters.connections--;
    },
    closeAll() {
      for (const s of sessions) s.close();
    },
  };
}

function busWire(ws: BusWs, d: BusData): Wire {
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
