/** Options of one ring agent (see ring.mjs). */
export interface AgentOptions {
  socket: string;
  name: string;
  next: string;
  role: "starter" | "relay";
  count: number;
  run: string;
  runtimeKey: string;
}
/** Runs one agent of the ring and prints `AGENT_SUMMARY {json}`. */
export function runAgent(ampbus: unknown, options: AgentOptions): Promise<void>;
