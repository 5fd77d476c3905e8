/**
 * A ring agent on Deno or Bun (the SDK from source, `mod.ts`).
 * Usage: `deno run --allow-all tests/agents/agent.ts '<options json>'` or
 * `bun tests/agents/agent.ts '<options json>'`; see ring.mjs.
 */
import * as ampbus from "../../mod.ts";
import { runAgent } from "./ring.mjs";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const args: string[] = g.Deno ? g.Deno.args : g.process.argv.slice(2);
await runAgent(ampbus, JSON.parse(args[0]));
