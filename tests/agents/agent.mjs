// A ring agent on Node (the SDK as built for npm, dist/mod.js).
// Usage: node tests/agents/agent.mjs '<options json>'; see ring.mjs.
import * as ampbus from "../../dist/mod.js";
import { runAgent } from "./ring.mjs";

await runAgent(ampbus, JSON.parse(process.argv[2]));
