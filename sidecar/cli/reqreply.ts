/**
 * `ampd req` and `ampd reply`: request/reply from the shell, as `nats req`
 * and `nats reply`, on the SDK's request/reply (sdk/client/request.ts): a
 * request goes to the receiver's inbox, the answer to `reply.<sender>`,
 * matched by `replyTo`.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { createMessage, type MessageFields } from "../../sdk/envelope/builder.ts";
import type { AISPMessage } from "../../sdk/envelope/envelope.ts";
import { TimeoutError as BusTimeoutError } from "../../sdk/errors.ts";
import { parseDuration } from "./args.ts";
import { CONNECT_FLAGS, type CommandHelp, describeError, EXIT_HELP, identityOf, needPositional, noMorePositional, openBus, parseCommand, runCommand, TimeoutError, UsageError, withBus, writeLine } from "./_command.ts";
import { countLimitOf, onInterrupt, reconnectForOf } from "./_follow.ts";
import { messageJson, parseJsonFlag, payloadOf } from "./_json_form.ts";

/** `ampd req --help`. */
export const REQ_HELP: CommandHelp = {
  name: "req",
  summary: "send a request and print the reply",
  usage: ["req RECEIVER [PAYLOAD_JSON] [flags]"],
  description: `Sends a message to RECEIVER's inbox (inbox.<RECEIVER>) and waits for the
message that answers it (replyTo = its id) on reply.<sender>, then prints the
reply's payload as JSON (--json: the whole reply). An agent answers with
bus.reply() in the SDK, or 'ampd reply' from a shell.`,
  flags: {
    type: { value: "TYPE", help: "The request's type. Default: request" },
    sender: { value: "NAME", help: "Who asks (replies go to reply.NAME). Default: the --agent, else ampd-req-<pid>" },
    timeout: { value: "DUR", help: "How long to wait for the reply. Default: 10s" },
    "conversation-id": { value: "ID", help: "Thread of related messages" },
  },
  shared: CONNECT_FLAGS,
  sections: [{
    title: "Output",
    text: `  The reply's payload as JSON on one line ("null" when it has none);
  --json: {"stream", "entryId", "message": <the reply's JSON form>}`,
  }],
  examples: [
    `req tester '{"file":"a.ts"}'`,
    "req tester --type task.test --timeout 30s --json",
    "req tester --key coder.key '{}'             # an ampd with --keyring: as coder",
  ],
  exit: `${EXIT_HELP}\nNo reply within --timeout is exit 3.`,
};

async function req(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, REQ_HELP.flags);
  const get = (k: string) => args.flags.get(k) as string | undefined;
  const receiver = needPositional(args, { index: 0, what: "RECEIVER" });
  noMorePositional(args, 2);
  const payload = args.positional[1] === undefined ? undefined : payloadOf(parseJsonFlag("payload", args.positional[1]));
  const timeout = parseDuration("timeout", { text: get("timeout") ?? "10s", min: 1, max: 24 * 3_600_000 });
  const { agent } = await identityOf(args);
  const fields: Record<string, unknown> = {
    type: get("type") ?? "request",
    sender: get("sender") ?? agent ?? `ampd-req-${process.pid}`,
    receiver,
    conversationId: get("conversation-id"),
  };
  if (payload !== undefined) fields.payload = payload;
  let msg: AISPMessage;
  try {
    msg = createMessage(fields as MessageFields);
  } catch (e) {
    throw new UsageError(describeError(e));
  }
  return await withBus(args, "ampd-req", async (bus) => {
    let d;
    try {
      d = await bus.client.request(msg, { timeout });
    } catch (e) {
      if (e instanceof BusTimeoutError) throw new TimeoutError(`no reply from ${receiver} within ${timeout} ms (request ${msg.id} in inbox.${receiver})`, { cause: e });
      throw e;
    }
    await writeLine(args.flags.has("json")
      ? JSON.stringify({ stream: d.stream, entryId: d.entryId, message: messageJson(d.message) })
      : JSON.stringify((messageJson(d.message) as { payload?: unknown }).payload ?? null));
    return 0;
  });
}

/** Runs `ampd req` with the arguments after the command name; resolves with the exit code. */
export const runReq = (argv: readonly string[]): Promise<number> => runCommand(argv, { name: "req", help: REQ_HELP, body: req });

/** `ampd reply --help`. */
export const REPLY_HELP: CommandHelp = {
  name: "reply",
  summary: "answer requests to an agent",
  usage: ["reply AGENT (--payload JSON | --command CMD) [flags]"],
  description: `Listens as AGENT (its inbox, through the consumer group named after it, so
several repliers share the work) and answers every message with --payload,
or with what --command prints: CMD runs in a shell with the request (its JSON
form) on stdin, and its stdout, parsed as JSON (else sent as a string), is the
reply's payload; a command that exits non-zero gets a reply of type "error"
with its stderr. Each request is acked once answered. Prints one line per
request answered. Runs until interrupted, or --count requests.`,
  flags: {
    payload: { value: "JSON", help: "The payload of every reply" },
    command: { value: "CMD", help: "A shell command whose output is each reply's payload" },
    type: { value: "TYPE", help: "The replies' type. Default: result" },
    count: { value: "N", help: "Exit after answering N requests" },
    "reconnect-for": { value: "DUR", help: "How long to try to reach ampd again after it went away. Default: 10m" },
  },
  shared: CONNECT_FLAGS,
  sections: [{
    title: "Output, one line per request answered",
    text: `  <request entryId> <request type> <sender> -> replied
  --json: {"entryId", "request": <its JSON form>, "reply": <the reply's JSON form>}`,
  }],
  examples: [
    `reply tester --payload '{"passed":true}'`,
    `reply upper --command 'jq -c .payload.text | tr a-z A-Z'`,
    "reply tester --payload '{}' --count 1 --key tester.key  # as tester, once",
  ],
  exit: EXIT_HELP,
};

/** Runs `command` in a shell with `input` on stdin. */
function runShell(command: string, input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.SHELL && !/fish$/.test(process.env.SHELL) ? process.env.SHELL : "/bin/sh", ["-c", command], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.on("error", () => {}); // a command that reads nothing closes its stdin early
    child.stdin.end(input);
  });
}

async function reply(argv: readonly string[]): Promise<number> {
  const args = parseCommand(argv, REPLY_HELP.flags);
  const get = (k: string) => args.flags.get(k) as string | undefined;
  const agent = needPositional(args, { index: 0, what: "AGENT" });
  noMorePositional(args, 1);
  const fixed = get("payload");
  const command = get("command");
  if ((fixed === undefined) === (command === undefined)) throw new UsageError("give either --payload JSON or --command CMD");
  const payload = fixed === undefined ? undefined : payloadOf(parseJsonFlag("payload", fixed));
  const type = get("type") ?? "result";
  const limit = countLimitOf(args);
  const reconnectMs = reconnectForOf(args);
  const json = args.flags.has("json");
  const bus = await openBus(args, "ampd-reply", { reconnect: { deadlineMs: reconnectMs } });
  const inbox = bus.client.listen(agent, { broadcast: false });
  const offInterrupt = onInterrupt(() => void inbox.return?.());
  let answered = 0;
  try {
    for await (const d of inbox) {
      let answer: Record<string, unknown> = { type, sender: agent };
      if (command !== undefined) {
        const r = await runShell(command, JSON.stringify(messageJson(d.message)));
        if (r.code !== 0) answer = { type: "error", sender: agent, payload: { code: r.code, stderr: r.stderr.trim() } };
        else {
          const out = r.stdout.trim();
          let value: unknown = out;
          try {
            value = payloadOf(JSON.parse(out));
          } catch {
            // not JSON: the text itself
          }
          answer.payload = value;
        }
      } else if (payload !== undefined) answer.payload = payload;
      const sent = await bus.client.reply(d.message, answer);
      await d.ack();
      answered++;
      await writeLine(json
        ? JSON.stringify({ entryId: d.entryId, request: messageJson(d.message), reply: { stream: sent.stream, entryId: sent.entryId } })
        : `${d.entryId} ${d.message.type} ${d.message.sender} -> replied`);
      if (answered >= limit) break;
    }
  } finally {
    // The handler stays until the bus is closed: a Ctrl-C during the close is the stop already under way.
    try {
      await inbox.return?.();
      await bus.client.close();
    } finally {
      offInterrupt();
    }
  }
  return 0;
}

/** Runs `ampd reply` with the arguments after the command name; resolves with the exit code. */
export const runReply = (argv: readonly string[]): Promise<number> => runCommand(argv, { name: "reply", help: REPLY_HELP, body: reply });
