/**
 * ampd's health and metrics endpoints on `--http`: `/healthz` (the process
 * serves), `/readyz` (the backend answers and is not degraded) and
 * `/metrics` (the Prometheus text exposition format, version 0.0.4).
 * docs/operations.md ("Health and metrics") lists every metric.
 *
 * Counters are read from what ampd keeps anyway (`ServerState.counters`,
 * the group reader's counters, `ServerState.metrics`); per-stream lengths
 * and per-group pending counts and lag are asked of the backend at scrape
 * time, for at most `MAX_SCRAPED_STREAMS` streams, a few calls at a time.
 *
 * @module
 */
import type { BackendInfo, GroupInfo, StreamInfo } from "../../sdk/backend/types.ts";
import { ROUND_TRIP_BUCKETS, TIMED_CALLS } from "../metrics.ts";
import type { ServerState } from "../server_state.ts";
import { pool } from "./_pool.ts";

/** Most streams whose length and groups one scrape reports: 1000. */
export const MAX_SCRAPED_STREAMS = 1000;
/** Backend calls one scrape runs at once. */
const SCRAPE_CONCURRENCY = 8;
/** How long `/readyz` waits for the backend's answer (ms). */
export const READY_PROBE_TIMEOUT_MS = 2000;
/** The stream `/readyz` asks the length of: any name does; nothing is created. */
const PROBE_STREAM = "ampbus.readyz";
/** The content type of the text exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** What `/metrics` reads besides the state: live-view watchers. */
export interface ScrapeExtras {
  /** Live-view watchers connected. */
  watchers?: number;
}

/** A label value escaped for the exposition format: backslash, double quote and newline. */
export function labelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** A sample value: integers as they are, others in JavaScript's shortest form. */
function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** Builds an exposition: one family (HELP, TYPE, samples) at a time. */
class Exposition {
  #lines: string[] = [];

  family(name: string, o: { type: "counter" | "gauge" | "histogram"; help: string }): this {
    this.#lines.push(`# HELP ${name} ${o.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${o.type}`);
    return this;
  }

  sample(name: string, value: number, labels?: Record<string, string>): this {
    if (labels === undefined) this.#lines.push(`${name} ${num(value)}`);
    else {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${labelValue(v)}"`).join(",");
      this.#lines.push(`${name}{${l}} ${num(value)}`);
    }
    return this;
  }

  /** A family with one unlabelled sample. */
  one(name: string, o: { type: "counter" | "gauge"; help: string; value: number }): this {
    return this.family(name, o).sample(name, o.value);
  }

  text(): string {
    return this.#lines.join("\n") + "\n";
  }
}

/** What `StreamInfo` says of removed entries, on backends that count them. */
interface RemovedCounts {
  /** By cause: trim (a trim or an add's maxLen), the retention sweep, a purge. */
  removed?: { trim: number; retention: number; purge: number };
  /** Of those, entries that were still pending in a consumer group. */
  droppedPending?: number;
}

interface StreamScrape {
  info: StreamInfo & RemovedCounts;
  groups: (GroupInfo & { lag?: number | null })[];
}

/** Lengths and groups of up to `MAX_SCRAPED_STREAMS` streams; throws when the backend does not answer. */
async function scrapeStreams(state: ServerState): Promise<{ streams: StreamScrape[]; total: number }> {
  const names = await state.backend.streams({ limit: MAX_SCRAPED_STREAMS + 1 });
  const listed = names.slice(0, MAX_SCRAPED_STREAMS);
  const streams = await pool(listed, SCRAPE_CONCURRENCY, async (stream) => {
    const [info, groups] = await Promise.all([state.backend.info(stream), state.backend.groupInfo(stream)]);
    return { info, groups } as StreamScrape;
  });
  return { streams, total: names.length };
}

const COUNTERS: [metric: string, key: keyof ServerState["counters"], help: string][] = [
  ["ampbus_adds_total", "added", "Messages stored by add and dlq.replay (duplicates not counted)."],
  ["ampbus_duplicates_total", "duplicates", "Adds answered as duplicates: their opId was already stored in the stream within the dedupe window; nothing was stored."],
  ["ampbus_pushed_total", "pushed", "Entries pushed to subscriptions."],
  ["ampbus_requests_total", "requests", "Protocol requests handled."],
  ["ampbus_errors_total", "errors", "Requests answered with an error."],
  ["ampbus_bad_frames_total", "badFrames", "Connections closed for a malformed frame."],
  ["ampbus_bad_requests_total", "badRequests", "Frames that were not a well-formed request."],
  ["ampbus_auth_failures_total", "authFailures", "Refused hellos and auths (wrong token, unknown agent or key, a proof that does not verify)."],
  ["ampbus_forbidden_total", "forbidden", "Requests refused with FORBIDDEN."],
  ["ampbus_bad_signatures_total", "badSignatures", "Adds refused with BAD_SIGNATURE."],
  ["ampbus_tier_refusals_total", "tierRefusals", "Adds refused with TIER_MISMATCH or TIER_TOO_LOW."],
  ["ampbus_timeouts_total", "timeouts", "Connections closed because hello or a frame did not arrive in time."],
  ["ampbus_over_budget_total", "overBudget", "Connections closed because partly received frames were over the memory budget."],
  ["ampbus_connections_opened_total", "connectionsTotal", "Connections opened since start (socket and /ws/bus)."],
];

const BACKEND_STATES = ["ready", "degraded", "reconnecting", "closed"] as const;

/** The `/metrics` page, in the Prometheus text format. Never throws: a backend that does not answer shows as `ampbus_scrape_backend_ok 0`. */
export async function renderMetrics(state: ServerState, extras: ScrapeExtras = {}): Promise<string> {
  const e = new Exposition();
  const c = state.counters;
  const g = state.groups.counters;
  const m = state.metrics;
  const b: BackendInfo = state.backend.backendInfo();
  e.family("ampbus_info", { type: "gauge", help: "Always 1; the labels name ampd's version and backend." })
    .sample("ampbus_info", 1, { version: state.config.version, backend: b.kind });
  e.one("ampbus_uptime_seconds", { type: "gauge", help: "Seconds since ampd started.", value: (Date.now() - state.startedAt) / 1000 });
  e.family("ampbus_backend_state", { type: "gauge", help: "1 for the backend's connection state, 0 for the others." });
  for (const s of BACKEND_STATES) e.sample("ampbus_backend_state", b.state === s ? 1 : 0, { state: s });
  e.one("ampbus_backend_reconnects_total", { type: "counter", help: "Times the backend lost and regained its connection.", value: b.reconnects });
  for (const [metric, key, help] of COUNTERS) e.one(metric, { type: "counter", help, value: c[key] });
  e.one("ampbus_deliveries_total", { type: "counter", help: "Entries delivered to consumers of groups (group.read and claim), redeliveries included.", value: m.delivered });
  e.one("ampbus_acks_total", { type: "counter", help: "Entries acknowledged (ack) that were pending.", value: m.acked });
  e.one("ampbus_nacks_total", { type: "counter", help: "Entries given back for redelivery (nack).", value: m.nacked });
  e.one("ampbus_claims_total", { type: "counter", help: "Entries claimed from consumers that held them longer than the claim timeout.", value: g.claimed });
  e.one("ampbus_dead_letters_total", { type: "counter", help: "Entries moved to a dead-letter stream after more than maxDeliveries deliveries.", value: g.deadLettered });
  e.one("ampbus_expired_total", { type: "counter", help: "Group entries acked and not delivered because their message was past expiresAt.", value: g.expiredDropped });
  e.one("ampbus_connections", { type: "gauge", help: "Open connections (socket and /ws/bus).", value: c.connections });
  e.one("ampbus_subscriptions", { type: "gauge", help: "Open subscriptions.", value: state.subscriptions });
  e.one("ampbus_in_flight_requests", { type: "gauge", help: "Requests being processed.", value: state.inFlight });
  let outbox = 0;
  for (const s of state.connections()) outbox += s.outboxBytes?.() ?? 0;
  e.one("ampbus_outbox_bytes", { type: "gauge", help: "Bytes of replies and pushes waiting for their peers, over all connections.", value: outbox });
  e.one("ampbus_partial_frame_bytes", { type: "gauge", help: "Bytes held for frames not yet whole or waiting behind back-pressure (limit: --partial-budget).", value: state.partialBytes });
  if (extras.watchers !== undefined) e.one("ampbus_live_view_watchers", { type: "gauge", help: "Live-view (/ws/mirror) watchers connected.", value: extras.watchers });

  // One family per call rather than a `call` label: unlabelled histograms read the same in every parser.
  for (const call of TIMED_CALLS) {
    const name = `ampbus_backend_${call}_seconds`;
    const h = m.roundTrips[call];
    e.family(name, { type: "histogram", help: `Round trips of the backend's ${call} calls made for clients, in seconds.` });
    let cumulative = 0;
    for (let i = 0; i < ROUND_TRIP_BUCKETS.length; i++) {
      cumulative += h.counts[i];
      e.sample(`${name}_bucket`, cumulative, { le: String(ROUND_TRIP_BUCKETS[i]) });
    }
    e.sample(`${name}_bucket`, h.count, { le: "+Inf" });
    e.sample(`${name}_sum`, h.sumMs / 1000);
    e.sample(`${name}_count`, h.count);
  }

  let scraped: { streams: StreamScrape[]; total: number } | undefined;
  try {
    scraped = await scrapeStreams(state);
  } catch {
    scraped = undefined;
  }
  e.one("ampbus_scrape_backend_ok", { type: "gauge", help: "1 when this scrape could read stream lengths and groups from the backend, 0 when it could not (they are left out).", value: scraped ? 1 : 0 });
  if (scraped === undefined) return e.text();
  const { streams, total } = scraped;
  e.one("ampbus_streams", { type: "gauge", help: `Streams that exist (counted up to ${MAX_SCRAPED_STREAMS + 1}).`, value: total });
  e.one("ampbus_streams_not_scraped", { type: "gauge", help: `Streams left out of the per-stream metrics of this scrape (more than ${MAX_SCRAPED_STREAMS} exist).`, value: Math.max(0, total - streams.length) });
  e.family("ampbus_stream_length", { type: "gauge", help: "Entries in the stream." });
  for (const s of streams) e.sample("ampbus_stream_length", s.info.length, { stream: s.info.stream });
  const counted = streams.filter((s) => s.info.removed !== undefined);
  if (counted.length > 0) {
    e.family("ampbus_stream_removed_total", { type: "counter", help: "Entries removed from the stream, by cause: trim (trim, or an add's maxLen), retention (the retention sweep), purge." });
    for (const s of counted) {
      for (const cause of ["trim", "retention", "purge"] as const) e.sample("ampbus_stream_removed_total", s.info.removed![cause] ?? 0, { stream: s.info.stream, cause });
    }
    e.family("ampbus_stream_removed_pending_total", { type: "counter", help: "Removed entries that were still pending in a consumer group (only a limits retention or a trim removes those)." });
    for (const s of counted) e.sample("ampbus_stream_removed_pending_total", s.info.droppedPending ?? 0, { stream: s.info.stream });
  }
  e.family("ampbus_group_pending", { type: "gauge", help: "Entries delivered to the group and not yet acknowledged." });
  for (const s of streams) for (const gr of s.groups) e.sample("ampbus_group_pending", gr.pending, { stream: s.info.stream, group: gr.name });
  e.family("ampbus_group_consumers", { type: "gauge", help: "Consumers the group knows." });
  for (const s of streams) for (const gr of s.groups) e.sample("ampbus_group_consumers", gr.consumers.length, { stream: s.info.stream, group: gr.name });
  e.family("ampbus_group_lag", { type: "gauge", help: "Entries of the stream not yet delivered to the group. Left out for a group whose lag the backend cannot tell." });
  for (const s of streams) {
    for (const gr of s.groups) if (typeof gr.lag === "number") e.sample("ampbus_group_lag", gr.lag, { stream: s.info.stream, group: gr.name });
  }
  return e.text();
}

/** The body of `/healthz`: ampd is alive and serving HTTP. */
export function health(state: ServerState): Record<string, unknown> {
  return { status: "live", version: state.config.version, uptimeMs: Date.now() - state.startedAt, backend: state.backend.kind };
}

/**
 * The status and body of `/readyz`: 200 when the backend is `ready` (not
 * degraded, not reconnecting), answers a round trip within
 * `READY_PROBE_TIMEOUT_MS`, and ampd is not shutting down; else 503, with
 * every reason.
 */
export async function readiness(state: ServerState): Promise<{ status: number; body: Record<string, unknown> }> {
  const b = state.backend.backendInfo();
  const reasons: string[] = [];
  if (state.shuttingDown) reasons.push("ampd is shutting down");
  if (b.state !== "ready") {
    const why = b.degraded ?? b.lastError;
    reasons.push(`backend ${b.kind} is ${b.state}${why ? ` (${why})` : ""}`);
  }
  let roundTripMs: number | undefined;
  if (b.state !== "closed") {
    const t0 = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), READY_PROBE_TIMEOUT_MS)));
    try {
      const r = await Promise.race([state.backend.info(PROBE_STREAM), timeout]);
      if (r === "timeout") reasons.push(`backend ${b.kind} did not answer within ${READY_PROBE_TIMEOUT_MS} ms`);
      else roundTripMs = Math.round((performance.now() - t0) * 1000) / 1000;
    } catch (e) {
      reasons.push(`backend ${b.kind} did not answer: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
  const backend: Record<string, unknown> = { kind: b.kind, state: b.state };
  if (b.degraded !== undefined) backend.degraded = b.degraded;
  if (b.lastError !== undefined) backend.lastError = b.lastError;
  const ready = reasons.length === 0;
  const body: Record<string, unknown> = { status: ready ? "ready" : "not ready", backend };
  if (roundTripMs !== undefined) body.roundTripMs = roundTripMs;
  if (!ready) body.reasons = reasons;
  return { status: ready ? 200 : 503, body };
}
