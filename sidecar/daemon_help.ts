/**
 * The text of `ampd --help`: the daemon's flags, its health and metrics
 * endpoints, examples and exit codes, with the commands' summaries.
 *
 * @module
 */
import pkg from "../package.json" with { type: "json" };
import { commandsHelp } from "./cli/commands.ts";

/** `ampd --help`. */
export const DAEMON_HELP: string = `ampd ${pkg.version}: the ampbus sidecar

Serves the ampbus protocol (length-prefixed MessagePack, docs/protocol.md) on a
Unix socket. Messages are kept in a SQLite file (default), in Redis Streams, or
in memory.

Usage:
  ampd [serve] [flags]      run the daemon
  ampd COMMAND [flags]      talk to a running ampd ('ampd COMMAND --help')

Commands:
${commandsHelp()}

Flags:
  --socket PATH           Unix socket to listen on. Default: ./ampd.sock
  --socket-mode MODE      Octal file mode of the socket. Default: 600
  --redis URL             Redis to use (also REDIS_URL). Example: redis://127.0.0.1:6379
                          A Redis Cluster node is detected and used as the
                          cluster's seed; several URLs, comma-separated, are
                          the seeds of a cluster
  --redis-cluster URLS    Seed nodes of a Redis Cluster, comma-separated: ampd
                          speaks the cluster protocol from the start (docs/scaling.md).
                          Example: redis://10.0.0.1:7000,redis://10.0.0.2:7000
  --redis-wait N          Acknowledge an add only once N replicas have it (WAIT):
                          an acknowledged add survives the failover of its
                          master. Costs a replication round trip per batch.
                          Default: 0 (acknowledged when the master has it)
  --redis-wait-timeout DUR  With --redis-wait: an add the replicas did not
                          confirm by then fails with BACKEND_TIMEOUT (it is
                          stored; retry with the same opId). Default: 1s
  --backend KIND          sqlite, redis, memory or auto. Default: auto (Redis if
                          a URL is given, else sqlite). memory keeps nothing:
                          every message is lost when ampd exits
  --data PATH             sqlite: the store's file, created when missing.
                          Default: ./ampd.db
  --sync MODE             sqlite: full or normal. full fsyncs every write before
                          it is answered (adds arriving together share one
                          fsync); normal may lose the last moments of writes on
                          power loss (never on a crash of ampd alone) and never
                          corrupts the store. Default: full
  --max-size SIZE         sqlite: the largest the store's file may grow to; past
                          it adds fail with STORAGE_FULL (reads go on).
                          Default: no limit but the disk's
  --retain DUR            Default retention of every stream, on every backend:
                          entries older than DUR (by entry id time) go, unless
                          a consumer group still needs them (see
                          --retention-policy); swept every DUR/10, 1s to 10s.
                          'none' keeps everything. A stream's own retention
                          ('ampd stream retention') wins. Default: 7d
  --retention-policy P    interest or limits. interest keeps every entry a
                          consumer group still needs (pending in it, or not yet
                          delivered to it), whatever its age; limits removes
                          by age alone. Removed entries are counted per stream
                          ('ampd stats'). Default: interest
  --connect-timeout DUR   How long ampd waits (retrying) for the Redis named by
                          --redis at start-up before it exits 1. Default: 10s
  --fallback MODE         none or memory: what ampd does when the Redis it was
                          given is unreachable at start-up. none exits 1; memory
                          serves in-memory streams (not shared with other
                          sidecars). Default: none
  --command-timeout DUR   A Redis command (add, read, group operation) not
                          answered by then fails with BACKEND_TIMEOUT and the
                          backend shows as degraded. 0 turns it off. Default: 5s
  --allow-eviction        Serve even when Redis's maxmemory-policy is not
                          noeviction (Redis may then delete stored messages).
                          Default: off (ampd refuses to start, and refuses adds
                          with BACKEND_MISCONFIGURED after a reconnection)
  --prefix PREFIX         Prefix of Redis keys. Default: ampbus:
  --max-frame SIZE        Largest frame accepted. Default: 16MiB
  --dedupe-window DUR     How long an opId is remembered per stream. Default: 10m
  --claim-timeout DUR     Consumer groups: pending longer than this is redelivered
                          to a live consumer. Default: 30s
  --max-deliveries N      Consumer groups: deliveries after which an entry moves to
                          the dead-letter stream <stream>.dlq. Default: 5
  --token TOKEN           Require this token in hello (also AMPD_TOKEN). A wrong
                          token closes the connection
  --keyring PATH          Agents, their keys and permissions (JSON, see
                          docs/security.md); every connection must then
                          authenticate as one of them. Reloaded on SIGHUP (a bad
                          file is refused and the loaded one kept)
  --require-sig           Refuse adds whose signature does not verify with a key
                          of their sender (BAD_SIGNATURE). Needs --keyring
  --min-tier RULES        Least tier per stream, PATTERN=TIER comma-separated,
                          such as 'inbox.*=silver,tasks.>=gold' (TIER_TOO_LOW)
  --require-snap-sha PATTERNS
                          Streams (comma-separated patterns, '>' for all) whose
                          messages must carry snapSha
  --spec-syntax RULES     PATTERN=reject comma-separated, such as 'inbox.*=reject':
                          on those streams a spec whose statements do not parse
                          as AISP is refused (INVALID_MESSAGE, line and column)
  --hello-timeout DUR     Close a connection with no good hello (and auth) by
                          then. Default: 5s
  --frame-timeout DUR     A frame must arrive whole this long after its first
                          byte. Default: 10s
  --partial-budget SIZE   Memory all connections together may hold for frames not
                          yet whole; past it the connection asking for more is
                          closed (LIMIT_EXCEEDED). Default: 256MiB
  --http HOST:PORT        Also serve the live view (a web page), the WebSocket
                          mirror of added messages and the protocol over
                          WebSocket (docs/live-view.md), and GET /healthz
                          (live), /readyz (the backend answers and is not
                          degraded; else 503) and /metrics (Prometheus text
                          format; needs the token with --token), documented in
                          docs/operations.md. Off by default. Use a loopback
                          address unless others must reach it
  --http-allow-host NAMES Host names (comma-separated) besides loopback names and
                          the listening address that HTTP requests may name in
                          Host (stops DNS rebinding). Default: none
  --http-allow-origin ORIGINS
                          Origins (comma-separated, https://app.example:3000)
                          whose pages may open WebSockets, besides ampd's own
                          page. Default: none
  --log-level LEVEL       error, warn, info or debug. Default: info
  --log-format FORMAT     text or json. json: one object a line on stderr, with
                          time, level, component and message (and fields such
                          as client). Default: text
  -h, --help              Show this help
  -V, --version           Print the version

Health and metrics (with --http; docs/operations.md lists every metric):
  GET /healthz            200 {"status":"live",...} while ampd serves
  GET /readyz             200 {"status":"ready",...} when the backend answers and
                          is not degraded; else 503 {"status":"not ready",
                          "reasons":[...]}
  GET /metrics            Prometheus text format (with --token: Authorization:
                          Bearer TOKEN). Counters: ampbus_adds_total,
                          ampbus_duplicates_total, ampbus_deliveries_total,
                          ampbus_acks_total, ampbus_nacks_total,
                          ampbus_claims_total, ampbus_dead_letters_total,
                          ampbus_expired_total, ampbus_stream_removed_total
                          {stream,cause}. Gauges: ampbus_connections,
                          ampbus_outbox_bytes, ampbus_stream_length{stream},
                          ampbus_group_pending{stream,group},
                          ampbus_group_lag{stream,group}. Histograms:
                          ampbus_backend_add_seconds (and _ack_, _nack_)

Examples:
  ampd                                   ./ampd.db on ./ampd.sock
  ampd --data /var/lib/ampbus/ampd.db --retain 7d
  ampd --backend memory                  throwaway: nothing is kept
  REDIS_URL=redis://127.0.0.1:6379 ampd  Redis Streams
  ampd --socket /run/ampbus/ampd.sock --backend redis --redis redis://db:6379
  ampd --redis-cluster redis://10.0.0.1:7000,redis://10.0.0.2:7000 --redis-wait 1
  ampd --http 127.0.0.1:8080             and watch the bus at http://127.0.0.1:8080/
  ampd --http 127.0.0.1:9464 --log-format json
                                         JSON logs; scrape http://127.0.0.1:9464/metrics

Exit codes: 0 clean shutdown (SIGINT/SIGTERM), 1 start-up failure, 2 bad flags
(an unknown flag or command names the closest one: 'ampd stast' -> stats).
Commands: 0 ok, 1 failure (ampd unreachable, a request refused, or what was
named not found), 2 bad usage, 3 timed out ('ampd COMMAND --help' says which).
Shell completion: 'ampd completion bash' or 'ampd completion zsh' (docs/operations.md).
`;
