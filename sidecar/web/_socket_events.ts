/**
 * What a kind of WebSocket of the HTTP server (`/ws/mirror`, `/ws/bus`)
 * answers: the events Bun.serve's `websocket` delivers, for sockets whose
 * data is `D`. http.ts hands each event to the kind the socket was opened as.
 *
 * @module
 */
import type { ServerWebSocket } from "bun";

/** The events of one kind of socket. */
export interface SocketEvents<D> {
  open(ws: ServerWebSocket<D>): void;
  message(ws: ServerWebSocket<D>, message: string | Uint8Array): void;
  drain(ws: ServerWebSocket<D>): void;
  close(ws: ServerWebSocket<D>): void;
}
