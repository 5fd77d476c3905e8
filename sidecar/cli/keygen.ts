/**
 * `ampd keygen`: makes an agent's key, writes its key file (mode 600) and
 * prints the key's entry for the keyring (docs/security.md).
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, lstatSync, openSync, unlinkSync, writeSync } from "node:fs";
import { newAgentKey } from "../../sdk/trust/auth.ts";
import { parseArgs, parseChoice, UsageError } from "./args.ts";
import { CommandError, type CommandHelp, noMorePositional, runCommand, writeLine } from "./_command.ts";

/** `ampd keygen --help`. */
export const KEYGEN_HELP: CommandHelp = {
  name: "keygen",
  summary: "make an agent's key",
  usage: ["keygen --agent NAME --out FILE [--kid KID] [--alg ed25519|hmac-sha256] [flags]"],
  description: `Writes a new key of agent NAME to FILE (mode 600: keep it with the agent and
nowhere else) and prints the key's entry for ampd's keyring (ampd --keyring,
docs/security.md) on stdout: paste it into "agents" for a new agent, or add
its key to the agent's "keys" to rotate, then reload ampd (kill -HUP). The
agent then connects with --key FILE (every command), or connect({agent, key})
with parseKeyFile() in TypeScript.

An Ed25519 entry holds the public key only. An HMAC-SHA256 entry holds the
same secret as the key file: keep the keyring as secret as the key (chmod 600).`,
  flags: {
    agent: { value: "NAME", help: "The agent (1 to 128 characters, no white space). Required" },
    out: { value: "FILE", help: "Where to write the key file. Required. An existing file is left alone (exit 2) unless --force" },
    kid: { value: "KID", help: "The key's id in the keyring, unique in it. Default: NAME-YYYYMMDD-<4 random hex digits>" },
    alg: { value: "ALG", help: "ed25519 (the default) or hmac-sha256" },
    force: { boolean: true, help: "Replace FILE if it exists (its key is lost)" },
    json: { boolean: true, help: `Print {"file", "agent", "kid", "alg", "entry"} on one line, where entry is {"NAME": {"keys": [<the key>]}}` },
    help: { boolean: true, short: "h", help: "Show this help" },
  },
  sections: [{
    title: "Output (stdout), the keyring entry",
    text: `  "planner": {
    "keys": [{"kid": "planner-20260112-3f9a", "alg": "ed25519", "publicKey": "..."}]
  }
with what was written on stderr.`,
  }],
  examples: [
    "keygen --agent planner --out planner.key",
    "keygen --agent tester --alg hmac-sha256 --kid tester-1 --out tester.key",
    "keygen --agent planner --out planner.key --force --json | jq .entry",
    "pub --key planner.key --type note --receiver coder   # then use it",
  ],
  exit: "Exit codes: 0 ok, 1 runtime failure (FILE cannot be written), 2 bad usage\n(also FILE exists, without --force).",
};

const FLAGS = KEYGEN_HELP.flags;

/** An agent name or kid as the keyring allows it (sdk/trust/keyring.ts). */
const NAME = /^[^\s\x00-\x1f\x7f]{1,128}$/;
const KID = /^\S{1,128}$/;

/** `NAME-YYYYMMDD-xxxx`, the agent part cut so that it fits the 128 characters of a kid. */
export function defaultKid(agent: string, now: Date = new Date()): string {
  const day = `${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, "0")}${String(now.getUTCDate()).padStart(2, "0")}`;
  const suffix = `-${day}-${randomBytes(2).toString("hex")}`;
  return `${[...agent].slice(0, 128 - suffix.length).join("")}${suffix}`;
}

/** Writes `text` to a new file `path` with mode 600; with `force`, an existing file (or link) is replaced. */
function writeKeyFile(path: string, text: string, force: boolean): void {
  let exists = false;
  try {
    lstatSync(path);
    exists = true;
  } catch {
    // not there: the usual case
  }
  if (exists && !force) throw new UsageError(`${path} exists; not overwriting it (pass --force to replace it: the key in it is lost)`);
  try {
    // Remove rather than truncate: a link is replaced, not followed, and the new file is born mode 600.
    if (exists) unlinkSync(path);
    const fd = openSync(path, "wx", 0o600);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    chmodSync(path, 0o600); // whatever the umask
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new CommandError(`cannot write ${path}: ${err.code === "ENOENT" ? "no such directory" : err.code === "EACCES" ? "permission denied" : err.message}`, { cause: e });
  }
}

async function keygen(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  noMorePositional(args, 0);
  const get = (k: string) => args.flags.get(k) as string | undefined;
  const agent = get("agent");
  if (agent === undefined) throw new UsageError("--agent NAME is required");
  if (!NAME.test(agent)) throw new UsageError(`--agent must be 1 to 128 characters without white space or control characters (was ${JSON.stringify(agent)})`);
  const out = get("out");
  if (out === undefined || out === "") throw new UsageError("--out FILE is required (where to write the key file)");
  const kid = get("kid") ?? defaultKid(agent);
  if (!KID.test(kid)) throw new UsageError(`--kid must be 1 to 128 characters without white space (was ${JSON.stringify(kid)})`);
  const alg = parseChoice("alg", { text: get("alg") ?? "ed25519", choices: ["ed25519", "hmac-sha256"] as const });
  const made = await newAgentKey({ agent, kid, alg });
  writeKeyFile(out, made.keyFile, args.flags.has("force"));
  const entry = { [agent]: { keys: [made.keyringKey] } };
  if (args.flags.has("json")) {
    await writeLine(JSON.stringify({ file: out, agent, kid, alg, entry }));
    return 0;
  }
  const keyLine = `{${Object.entries(made.keyringKey).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(", ")}}`;
  console.error(`ampd keygen: wrote ${out} (mode 600): ${alg} key ${kid} of agent ${agent}. Its keyring entry:`);
  await writeLine(`${JSON.stringify(agent)}: {\n  "keys": [${keyLine}]\n}`);
  if (alg === "hmac-sha256") console.error("ampd keygen: the entry holds the secret: keep the keyring as secret as the key file (chmod 600).");
  return 0;
}

/** Runs `ampd keygen` with the arguments after the command name; resolves with the exit code. */
export const runKeygen = (argv: readonly string[]): Promise<number> => runCommand(argv, { name: "keygen", help: KEYGEN_HELP, body: keygen });
