/**
 * The live view's consumer-group panel: for every stream a watcher's filter
 * names that has groups, its length, its groups (consumers, pending, lag)
 * and how many dead letters its dead-letter stream holds. Sent on request
 * (`{"groups": {}}` on /ws/mirror); the page asks every two seconds.
 *
 * @module
 */
import type { GroupInfo } from "../../sdk/backend/types.ts";
import type { ServerState } from "../server_state.ts";
import { FilterMatcher, type MirrorFilter } from "./mirror_filter.ts";

/** Most streams one panel covers: 200. */
export const MAX_PANEL_STREAMS = 200;
/**
 * How long the list of streams is reused (ms): every page asks every two
 * seconds, and listing is a SCAN of the keyspace on Redis.
 */
const LIST_TTL_MS = 2000;
const listed = new WeakMap<ServerState, { at: number; names: Promise<string[]> }>();

/** The stream names, listed at most once per `LIST_TTL_MS` for all watchers. */
function streamNames(state: ServerState): Promise<string[]> {
  const now = Date.now();
  const hit = listed.get(state);
  if (hit !== undefined && now - hit.at < LIST_TTL_MS) return hit.names;
  const names = state.backend.streams({ limit: 10_000 });
  listed.set(state, { at: now, names });
  names.catch(() => listed.delete(state)); // a failed listing is not reused
  return names;
}

/** One group as the panel shows it. */
export interface PanelGroup {
  name: string;
  pending: number;
  /** Entries not yet delivered to the group; null when the backend does not report it. */
  lag: number | null;
  lastDeliveredId: string;
  consumers: { name: string; pending: number; idleMs: number }[];
}

/** One stream with groups. */
export interface PanelStream {
  stream: string;
  length: number;
  deadLetterStream: string;
  /** Entries in the dead-letter stream (0 when it does not exist). */
  deadLetters: number;
  groups: PanelGroup[];
}

/** The panel: streams with groups, by name. */
export interface GroupsPanel {
  streams: PanelStream[];
  /** Streams the filter names beyond `MAX_PANEL_STREAMS`, left out. */
  omitted: number;
  /** When it was read (ms since the epoch). */
  at: number;
}

/**
 * Reads the panel for the streams `filter.stream` names (all when none).
 *
 * @example
 * ```ts
 * ws.sendText(JSON.stringify({ groups: await groupsPanel(state, watcher.filter) }));
 * ```
 */
export async function groupsPanel(state: ServerState, filter: MirrorFilter): Promise<GroupsPanel> {
  const backend = state.backend;
  const matcher = new FilterMatcher(filter.stream === undefined ? {} : { stream: filter.stream });
  const names = await streamNames(state);
  const watched = names.filter((s) => matcher.matches({ stream: s, sender: "", receiver: "", type: "" }));
  const chosen = watched.slice(0, MAX_PANEL_STREAMS);
  const rows: (PanelStream | undefined)[] = [];
  let next = 0;
  const worker = async () => {
    while (next < chosen.length) {
      const i = next++;
      const stream = chosen[i];
      const groups = await backend.groupInfo(stream) as (GroupInfo & { lag?: number | null })[];
      if (groups.length === 0) continue;
      const deadLetterStream = state.groups.deadLetterStream(stream);
      // Asked even when the listing (reused for a moment) does not show it yet: a missing stream has length 0.
      const [info, dlq] = await Promise.all([backend.info(stream), backend.info(deadLetterStream)]);
      rows[i] = {
        stream,
        length: info.length,
        deadLetterStream,
        deadLetters: dlq.length,
        groups: groups.map((g) => ({
          name: g.name,
          pending: g.pending,
          lag: typeof g.lag === "number" ? g.lag : null,
          lastDeliveredId: g.lastDeliveredId,
          consumers: g.consumers.map((c) => ({ name: c.name, pending: c.pending, idleMs: c.idleMs })),
        })),
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, chosen.length) }, worker));
  return { streams: rows.filter((r) => r !== undefined), omitted: watched.length - chosen.length, at: Date.now() };
}
