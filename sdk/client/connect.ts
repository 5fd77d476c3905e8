/**
 * `connect()`: an agent client over the sidecar's Unix socket, or its
 * WebSocket endpoint when given a `url`.
 *
 * @module
 */
import { AmpClient } from "./client.ts";
import { type InvalidEntryHandler } from "./types.ts";
import { SocketPort } from "./socket_port.ts";
import { ReconnectingPort, type ReconnectOptions } from "./reconnect.ts";
import { defaultTransport } from "../transport/default.ts";
import type { TransportFactory } from "../transport/transport.ts";
import { webSocketTransport } from "../transport/websocket.ts";
import { runtime } from "../runtime.ts";
import type { SigningKey } from "../codec/sign.ts";

/**
 * Options of `connect()`. Every field has a default: `connect()` alone
 * reaches ampd at `$AMPD_SOCKET` or `./ampd.sock` and reconnects through
 * outages of up to 30 s.
 *
 * @example
 * ```ts
 * import type { ConnectOptions } from "@ampbus/ampbus";
 *
 * const overSocket: ConnectOptions = { socket: "/run/ampd.sock", name: "tester", reconnect: { deadlineMs: 60_000 } };
 * const fromBrowser: ConnectOptions = { url: "ws://127.0.0.1:8080/ws/bus", name: "dashboard" };
 * const failFast: ConnectOptions = { reconnect: false, requestTimeout: 5_000 };
 * ```
 */
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
  /**
   * The agent to connect as, on an ampd with a keyring (`ampd --keyring`):
   * named in `hello`, proven with `key`. Only this agent's messages may be added.
   */
  agent?: string;
  /**
   * The agent's key: proves the identity (`auth`) and signs every message
   * added without a `sig`. `parseKeyFile()` reads the file `ampd keygen` writes.
   */
  key?: SigningKey;
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
 * Connects to ampd and says hello. Rejects at once when ampd is not there;
 * once connected, rides out outages (see `ConnectOptions.reconnect`). For a
 * bus without a sidecar, `createLocalBus()` gives the same client.
 *
 * @example
 * ```ts
 * import { connect, createMessage } from "@ampbus/ampbus";
 *
 * // Needs a running ampd, so it is defined here, not called.
 * async function publish(): Promise<void> {
 *   const bus = await connect({ socket: "./ampd.sock", name: "coder" }); // a browser: { url: "ws://127.0.0.1:8080/ws/bus" }
 *   const r = await bus.streamAdd("tasks", createMessage({ type: "task", sender: "coder", receiver: "tester" }));
 *   console.log(r.entryId, r.duplicate);
 *   await bus.close();
 * }
 * ```
 */
export async function connect(options: ConnectOptions = {}): Promise<AmpClient> {
  const socket = options.socket ?? env("AMPD_SOCKET") ?? "./ampd.sock";
  const factory = options.transport ?? (options.url !== undefined ? webSocketTransport(options.url) : await defaultTransport());
  const portOptions = {
    name: options.name ?? options.agent ?? `${runtime}-agent`,
    token: options.token ?? env("AMPD_TOKEN"),
    agent: options.agent,
    key: options.key,
    requestTimeout: options.requestTimeout,
  };
  const open = async () => await SocketPort.open(await factory({ socket }), portOptions);
  const port = options.reconnect === false ? await open() : await ReconnectingPort.open(open, options.reconnect || {});
  return new AmpClient(port, { onInvalid: options.onInvalid, signer: options.key });
}
