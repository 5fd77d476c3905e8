/**
 * ampd's Unix-socket server (Bun.listen): socket file handling (mode, stale
 * sockets, refusing to steal a live one), one `Session` per connection, and
 * graceful shutdown.
 *
 * @module
 */
import { chmodSync, existsSync, lstatSync, unlinkSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { AmpbusError } from "../sdk/errors.ts";
import { Session, type Wire } from "./session.ts";
import type { ServerState } from "./server_state.ts";

/** The socket path is taken by a live ampd, or is not a socket. */
export class SocketInUseError extends AmpbusError {
  constructor(message: string) {
    super("SOCKET_IN_USE", message);
    this.name = "SocketInUseError";
  }
}

/** True when something accepts connections on the Unix socket at `path`. */
function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = netConnect({ path });
    const done = (live: boolean) => {
      c.removeAllListeners();
      c.on("error", () => {});
      c.destroy();
      resolve(live);
    };
    c.once("connect", () => done(true));
    c.once("error", () => done(false));
    setTimeout(() => done(false), 1000).unref?.();
  });
}

/** Removes a stale socket file at `path`; refuses a live socket or a file that is not a socket. */
export async function claimSocketPath(path: string): Promise<"fresh" | "replaced-stale"> {
  if (!existsSync(path)) return "fresh";
  const st = lstatSync(path);
  if (!st.isSocket()) throw new SocketInUseError(`${path} exists and is not a socket; refusing to replace it`);
  if (await isLive(path)) throw new SocketInUseError(`another process is listening on ${path}; refusing to take it over`);
  unlinkSync(path);
  return "replaced-stale";
}

interface ConnData {
  session: Session;
  pending: Uint8Array[];
  pendingBytes: number;
  /** End the socket once `pending` is written. */
  endWhenDrained: boolean;
}

/** A running socket server. */
export interface SocketServer {
  readonly path: string;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), closes sessions, removes the socket. */
  shutdown(graceMs?: number): Promise<void>;
}

/** Options of `listenSocket()`. */
export interface SocketListenOptions {
  path: string;
  /** Mode of the socket file. Defaults to 0o600 (owner only). */
  mode?: number;
}

/** Starts serving the sidecar protocol on a Unix socket. */
export async function listenSocket(state: ServerState, opts: SocketListenOptions): Promise<SocketServer> {
  const { path } = opts;
  const mode = opts.mode ?? 0o600;
  const claimed = await claimSocketPath(path);
  if (claimed === "replaced-stale") state.log.warn(`replaced a stale socket at ${path} (no process was listening)`);
  const sessions = new Set<Session>();
  let nextId = 1;

  // Create the socket file with no permissions for others from the start, then set the mode.
  const oldMask = process.umask(0o177);
  let listener;
  try {
    listener = Bun.listen<ConnData>({
      unix: path,
      socket: {
        open(socket) {
          const wire: Wire = {
            write(bytes) {
              const d = socket.data;
              if (d.pendingBytes > 0) {
                d.pending.push(bytes);
                d.pendingBytes += bytes.length;
                return;
              }
              const n = socket.write(bytes);
              if (n < bytes.length && n >= 0) {
                const rest = bytes.subarray(n);
                d.pending.push(rest);
                d.pendingBytes += rest.length;
              }
            },
            buffered: () => socket.data.pendingBytes,
            close: () => {
              if (socket.data.pendingBytes > 0) socket.data.endWhenDrained = true;
              else socket.end();
            },
            pause: () => socket.pause(),
            resume: () => socket.resume(),
            peer: "unix socket",
          };
          const session = new Session(nextId++, wire, state);
          socket.data = { session, pending: [], pendingBytes: 0, endWhenDrained: false };
          sessions.add(session);
          state.counters.connections++;
          state.counters.connectionsTotal++;
        },
        data(socket, data) {
          socket.data.session.onData(data);
        },
        drain(socket) {
          const d = socket.data;
          while (d.pending.length > 0) {
            const head = d.pending[0];
            const n = socket.write(head);
            if (n < 0) return;
            if (n < head.length) {
              d.pending[0] = head.subarray(n);
              d.pendingBytes -= n;
              return;
            }
            d.pending.shift();
            d.pendingBytes -= head.length;
          }
          if (d.endWhenDrained) socket.end();
          else d.session.onDrain();
        },
        close(socket) {
          const d = socket.data;
          if (!d) return;
          d.session.onClose();
          sessions.delete(d.session);
          state.counters.connections--;
        },
        error(socket, err) {
          state.log.debug(`client ${socket.data?.session.id}: socket error ${err.message}`);
        },
      },
    });
  } finally {
    process.umask(oldMask);
  }
  chmodSync(path, mode);

  return {
    path,
    async shutdown(graceMs = 5000) {
      state.shuttingDown = true;
      listener.stop(false); // stop accepting; keep open connections
      const idle = state.waitIdle();
      const timeout = new Promise<void>((r) => setTimeout(r, graceMs).unref?.());
      await Promise.race([idle, timeout]);
      for (const s of sessions) s.close();
      listener.stop(true);
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}
