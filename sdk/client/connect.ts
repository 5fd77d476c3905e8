/**
 * `connect()`: an agent client over the sidecar's Unix socket, or its
 * WebSocket endpoint when given a `url`.
 *
 * @module
 */
import { AmpClient, type InvalidEntryHandler } from "./client.ts";
import { SocketPort } from "./socket_port.ts";
import { ReconnectingPort, type ReconnectOptions } from "./reconnect.ts";
import { defaultTransport } from "../transport/default.ts";
import type { TransportFactory } from "../transport/transport.ts";
import { webSocketTransport } from "../transport/websocket.ts";
import { runtime } from "../runtime.ts";

/** Options of `connect()`. */
export interface ConnectOptions {
  /** Path of ampd's socket. Defaults to `$AMPD_SOCKET`, else `./ampd.sock`. */
  socket?: string;
  /**
   * ampd's WebSocket endpoint (`ws://127.0.0.1:8080/ws/bus`, served by `ampd --http`),
   * for browsers and edge workers. When set, the Unix socket is not used.
   */
  url?: string;
  /** This client's name, sent in `hello` and shown in ampd's logs. Defaults to `<runtime>-agent`. */
  name?: string;
  /** Token, when ampd requires one. Defaults to `$AMPD_TOKEN`. */
  token?: string;
  /** Opens the byte pipe. Defaults to the Unix-socket transport of this runtime. */
  transport?: TransportFactory;
  /** How long to wait for each reply, in ms. Defaults to 30 000. */
  requestTimeout?: number;
  /** Called for each stream entry that is not a valid message (it is skipped). */
  onInvalid?: InvalidEntryHandler;
  /**
   * Reconnect through outages of ampd or Redis (the default), with how long an
   * outage may last before calls fail; `false` fails at the first disconnect.
   */
  reconnect?: ReconnectOptions | false;
}

function env(name: string): string | undefined {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  try {
    return g.process?.env?.[name] ?? g.Deno?.env?.get?.(name);
  } catch {
    return undefined; // Deno without --allow-env
  }
}

/**
 * Connects to ampd and says hello.
 *
 * @example
 * ```ts
 * const bus = await connect({ socket: "./ampd.sock", name: "tester" });
 * const r = await bus.streamAdd("tasks", msg); // { stream, entryId, duplicate }
 * await bus.close();
 * const web = await connect({ url: "ws://127.0.0.1:8080/ws/bus", name: "browser" }); // from a browser
 * ```
 */
export async function connect(options: ConnectOptions = {}): Promise<AmpClient> {
  const socket = options.socket ?? env("AMPD_SOCKET") ?? "./ampd.sock";
  const factory = options.transport ?? (options.url !== undefined ? webSocketTransport(options.url) : await defaultTransport());
  const portOptions = {
    name: options.name ?? `${runtime}-agent`,
    token: options.token ?? env("AMPD_TOKEN"),
    requestTimeout: options.requestTimeout,
  };
  const open = async () => await SocketPort.open(await factory({ socket }), portOptions);
  const port = options.reconnect === false ? await open() : await ReconnectingPort.open(open, options.reconnect || {});
  return new AmpClient(port, { onInvalid: options.onInvalid });
}
