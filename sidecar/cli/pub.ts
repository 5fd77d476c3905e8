/**
 * `ampd pub`: publishes a message built from flags, or JSON messages read
 * from stdin, one a line.
 *
 * @module
 */
import { createMessage, type MessageFields } from "../../sdk/envelope/builder.ts";
import type { AISPMessage } from "../../sdk/envelope/envelope.ts";
import { deserialize } from "../../sdk/codec/json.ts";
import { uuidv7 } from "../../sdk/envelope/id.ts";
import { createReadStream, statSync } from "node:fs";
import { type FlagSpec, parseDuration } from "./args.ts";
import { CommandError, CONNECT_FLAGS, type CommandHelp, describeError, EXIT_HELP, identityOf, inboxOf, noMorePositional, NotFoundError, parseCommand, runCommand, UsageError, withBus, writeLine } from "./_command.ts";
import { parseJsonFlag, payloadOf } from "./_json_form.ts";

const FLAGS: Record<string, FlagSpec> = {
  type: { value: "TYPE", help: "Message type, such as task or obs.tick" },
  sender: { value: "NAME", help: "Sending agent. Default: the --agent, else ampd-cli" },
  receiver: { value: "NAME", help: "Receiving agent, or broadcast" },
  payload: { value: "JSON", help: `Payload, as JSON (bytes as {"$bin": "<base64>"})` },
  spec: {
    value: "JSON",
    help: `Task spec {"preconditions", "task", "postconditions", "evidence"?} (docs/grading.md): ampd grades it, and a --tier may not be better than the grade`,
  },
  tier: { value: "TIER", help: "platinum, gold, silver, bronze or reject (without --spec only reject: a message without a spec grades reject)" },
  "conversation-id": { value: "ID", help: "Thread of related messages" },
  "reply-to": { value: "ID", help: "Id of the message this answers" },
  "op-id": { value: "ID", help: "Idempotency key. Default: the message id" },
  "expires-in": { value: "DUR", help: "Expire after this long, such as 30s or 10m" },
  "max-len": { value: "N", help: "Trim the stream to about N entries while adding" },
  file: { value: "FILE", help: "Read JSON messages, one a line, from FILE instead of stdin ('-' is stdin)" },
};

/** `ampd pub --help`. */
export const PUB_HELP: CommandHelp = {
  name: "pub",
  summary: "publish messages",
  usage: ["pub [STREAM] --type TYPE --sender NAME --receiver NAME [flags]", "pub [STREAM] < messages.jsonl", "pub [STREAM] --file messages.jsonl"],
  description: `With --type, builds one message from the flags. Without it, reads messages in
their JSON form (docs/protocol.md, "JSON form"), one a line, from stdin or
--file; v, id, opId and timestamp are filled in when missing. Input with no
message in it is an error (exit 1), not "published 0". STREAM defaults to the
receiver's inbox: inbox.<receiver>, or broadcast.

As an agent (--agent / --key), the sender defaults to the agent (a JSON line
without "sender" gets it too), and with --key every message that has no sig
is signed with the key before it is sent. An ampd with --keyring takes only
messages whose sender is the connection's agent (FORBIDDEN otherwise).`,
  flags: FLAGS,
  shared: CONNECT_FLAGS,
  sections: [{
    title: "Output",
    text: `One line per message, "<stream> <entryId>" (and "duplicate" when the opId was
already stored); with --json {"stream","entryId","duplicate","id"}.`,
  }],
  examples: [
    `pub --type task --sender planner --receiver coder --payload '{"file":"a.ts"}'`,
    "pub events --type obs.tick --receiver broadcast --json",
    `pub --type task --receiver coder --tier gold --spec '{"preconditions":["∀f ∈ F: compiles(f)"],"task":"test F","postconditions":["∀t ∈ T: passes(t)"]}'`,
    "pub --file messages.jsonl",
    "pub --key planner.key --type note --receiver coder   # signed, from planner",
  ],
  exit: `${EXIT_HELP}\nA message ampd refuses is exit 1; with stdin or --file, the other lines are\nstill published. A --file that cannot be read, and input without a message, are exit 1.`,
};

function fromFlags(get: (k: string) => string | undefined, agent: string | undefined): AISPMessage {
  const receiver = get("receiver");
  if (receiver === undefined) throw new UsageError("--receiver is required with --type");
  const fields: Record<string, unknown> = {
    type: get("type"),
    sender: get("sender") ?? agent ?? "ampd-cli",
    receiver,
    tier: get("tier"),
    conversationId: get("conversation-id"),
    replyTo: get("reply-to"),
    opId: get("op-id"),
  };
  const payload = get("payload");
  if (payload !== undefined) fields.payload = payloadOf(parseJsonFlag("payload", payload));
  const spec = get("spec");
  if (spec !== undefined) fields.spec = parseJsonFlag("spec", spec);
  const expires = get("expires-in");
  if (expires !== undefined) fields.expiresAt = Date.now() + parseDuration("expires-in", { text: expires, min: 1, max: 365 * 86_400_000 });
  try {
    return createMessage(fields as MessageFields);
  } catch (e) {
    throw new UsageError(describeError(e));
  }
}

/** A message from one JSON line, with v, id, opId and timestamp (and sender, when `sender` is given) filled in when missing. */
export function messageFromJsonLine(line: string, sender?: string): AISPMessage {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (e) {
    throw new Error(`not JSON: ${(e as Error).message}`);
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new Error("a message is a JSON object");
  const m = obj as Record<string, unknown>;
  m.v ??= 1;
  m.id ??= uuidv7();
  m.opId ??= m.id;
  m.timestamp ??= Date.now();
  if (sender !== undefined) m.sender ??= sender;
  return deserialize(JSON.stringify(m));
}

async function* inputLines(input: AsyncIterable<unknown>): AsyncGenerator<string> {
  let rest = "";
  const decoder = new TextDecoder();
  for await (const chunk of input) {
    rest += decoder.decode(chunk as Uint8Array, { stream: true });
    let nl;
    while ((nl = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, nl);
      rest = rest.slice(nl + 1);
    }
  }
  if (rest.length > 0) yield rest;
}

async function pub(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, FLAGS);
  noMorePositional(args, 1);
  const get = (k: string) => args.flags.get(k) as string | undefined;
  const json = args.flags.has("json");
  const maxLenText = get("max-len");
  if (maxLenText !== undefined && !/^[1-9]\d*$/.test(maxLenText)) throw new UsageError(`--max-len must be a positive whole number (was ${JSON.stringify(maxLenText)})`);
  const maxLen = maxLenText === undefined ? undefined : Number(maxLenText);
  const { agent } = await identityOf(args); // a bad --key is a usage error before anything is built
  const single = get("type") !== undefined ? fromFlags(get, agent) : undefined;
  const fileFlag = get("file");
  const file = fileFlag === "-" ? undefined : fileFlag;
  if (single === undefined) {
    for (const k of Object.keys(FLAGS)) {
      if (k !== "max-len" && k !== "file" && args.flags.has(k)) throw new UsageError(`--${k} needs --type (without --type, messages come from stdin or --file)`);
    }
    if (file === undefined && process.stdin.isTTY) throw new UsageError("give --type (and --receiver) to build a message, or pipe JSON messages to stdin, or --file FILE");
  } else if (file !== undefined) throw new UsageError("--file reads messages; --type builds one: give one of them");
  if (file !== undefined) checkReadable(file);
  return await withBus(args, "ampd-pub", async (bus) => {
    const publish = async (msg: AISPMessage) => {
      const stream = args.positional[0] ?? inboxOf(msg.receiver);
      const r = await bus.client.streamAdd(stream, msg, { maxLen });
      await writeLine(json ? JSON.stringify({ stream, entryId: r.entryId, duplicate: r.duplicate, id: msg.id }) : `${stream} ${r.entryId}${r.duplicate ? " duplicate" : ""}`);
    };
    if (single !== undefined) {
      await publish(single);
      return 0;
    }
    let failed = 0;
    let n = 0;
    let messages = 0;
    for await (const line of inputLines(file === undefined ? process.stdin : createReadStream(file))) {
      n++;
      if (line.trim() === "") continue;
      messages++;
      try {
        await publish(messageFromJsonLine(line, agent));
      } catch (e) {
        failed++;
        console.error(`ampd pub: line ${n}: ${describeError(e)}`);
      }
    }
    if (messages === 0) throw new CommandError(`no message to publish: ${file === undefined ? "stdin" : `--file ${file}`} ${n === 0 ? "is empty" : "has only blank lines"} (one JSON message a line)`);
    return failed > 0 ? 1 : 0;
  });
}

/** Fails with exit 1 naming `file` when it cannot be read as a file. */
function checkReadable(file: string): void {
  try {
    if (statSync(file).isDirectory()) throw new CommandError(`--file ${file} is a directory, not a file of messages`);
  } catch (e) {
    if (e instanceof CommandError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new NotFoundError(`--file ${file}: no such file`);
    throw new CommandError(`--file ${file}: cannot read it: ${(e as Error).message}`);
  }
}

/** Runs `ampd pub` with the arguments after the command name; resolves with the exit code. */
export const runPub = (argv: readonly string[]): Promise<number> => runCommand(argv, { name: "pub", help: PUB_HELP, body: pub });
