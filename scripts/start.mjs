#!/usr/bin/env node
// `npm start`: builds dist/ampd when it is missing or older than its sources,
// then runs it with the arguments given after `npm start --`.
import { spawn } from "node:child_process";
import { ensureAmpd } from "../packages/_ampd_binary.mjs";

let binary;
try {
  binary = ensureAmpd();
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
const child = spawn(binary, process.argv.slice(2), { stdio: "inherit" });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
