/**
 * The byte pipe a session talks over, as each transport implements it: the
 * Unix socket server (`server.ts`) and the `/ws/bus` WebSocket endpoint
 * (`web/bus_socket.ts`).
 *
 * @module
 */

/** The byte pipe a session talks over. */
export interface Wire {
  /** Queues bytes for the peer. */
  write(bytes: Uint8Array): void;
  /** Bytes queued but not yet taken by the peer. */
  buffered(): number;
  /** Closes the connection after queued bytes are sent. */
  close(): void;
  /** Stops reading from the peer (back-pressure on a client that pipelines too much). */
  pause?(): void;
  resume?(): void;
  /** Who is on the other end, for logs ("unix socket", "127.0.0.1:51234"). */
  readonly peer?: string;
}
