/**
 * Prints hex dumps of real frames for docs/protocol.md: starts ampd's server
 * in this process on a temporary socket, sends requests over a raw socket,
 * and dumps exactly the bytes that went each way.
 *
 * Run: bun scripts/protocol_examples.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { authBytes, createMessage, encode, encodeValue, importKey, Keyring, proveAuth, toBase64 } from "../mod.ts";
import { TrustPolicy } from "../sdk/trust/policy.ts";
import { frame } from "../sdk/transport/frame.ts";
import { MemoryBackend } from "../sdk/backend/memory.ts";
import { Logger } from "../sidecar/log.ts";
import { listenSocket } from "../sidecar/server.ts";
import { ServerState } from "../sidecar/server_state.ts";

const dir = mkdtempSync(join(tmpdir(), "ampbus-doc-"));
const path = join(dir, "ampd.sock");
const state = new ServerState({ maxFrame: 16 << 20, version: "0.1.0" }, new MemoryBackend({}), new Logger("error"));
let server = await listenSocket(state, { path });
let received = new Uint8Array(0);
let sock = await open(path);

async function open(at: string) {
  const s = createConnection({ path: at });
  await new Promise((r) => s.once("connect", r));
  s.on("data", (d: Uint8Array) => {
    const n = new Uint8Array(received.length + d.length);
    n.set(received);
    n.set(d, received.length);
    received = n;
  });
  return s;
}

function hex(b: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 16) {
    const row = Array.from(b.subarray(i, i + 16));
    const h = row.map((x) => x.toString(16).padStart(2, "0")).join(" ");
    const a = row.map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : ".")).join("");
    lines.push(`${i.toString(16).padStart(4, "0")}  ${h.padEnd(47)}  ${a}`);
  }
  return lines.join("\n");
}

async function exchange(title: string, req: Record<string, unknown> | Uint8Array, waitMs = 50) {
  const bytes = req instanceof Uint8Array ? req : frame(encodeValue(req));
  received = new Uint8Array(0);
  sock.write(bytes);
  await new Promise((r) => setTimeout(r, waitMs));
  console.log(`### ${title}\n\nclient → ampd (${bytes.length} bytes):\n\n\`\`\`\n${hex(bytes)}\n\`\`\`\n`);
  console.log(`ampd → client (${received.length} bytes):\n\n\`\`\`\n${hex(received)}\n\`\`\`\n`);
}

const msg = createMessage({
  id: "m1",
  opId: "op1",
  type: "obs.tick",
  sender: "planner",
  receiver: "broadcast",
  timestamp: 1706745600000,
  payload: { n: 1 },
});
await exchange("hello", { op: "hello", rid: 1, version: 1, client: "doc" });
await exchange("add", { op: "add", rid: 2, stream: "broadcast", msg: encode(msg) });
await exchange("add, same opId again (duplicate)", { op: "add", rid: 3, stream: "broadcast", msg: encode(msg) });
await exchange("subscribe from the beginning with credit 1 (reply, then a push)", { op: "subscribe", rid: 4, stream: "broadcast", from: "0", credit: 1 });
await exchange("an unknown op (error reply; the connection goes on)", { op: "nope", rid: 5 });
await exchange("a frame that is not MessagePack (error reply with rid nil)", new Uint8Array([0, 0, 0, 1, 0xc1]));
sock.end();
await server.shutdown(100);

// An ampd with a keyring: agent "planner" holds the HMAC-SHA256 secret 0x01 * 32 as key "planner-1".
const secret = new Uint8Array(32).fill(1);
const keyring = Keyring.from({ agents: { planner: { keys: [{ kid: "planner-1", alg: "hmac-sha256", secret: toBase64(secret) }] } } });
const trusted = new ServerState({ maxFrame: 16 << 20, version: "0.1.0", trust: new TrustPolicy({ keyring }) }, new MemoryBackend({}), new Logger("error"));
const path2 = join(dir, "ampd-keyring.sock");
server = await listenSocket(trusted, { path: path2 });
sock = await open(path2);
console.log("## On an ampd with a keyring (agent planner, HMAC key planner-1 = 32 bytes of 0x01)\n");
await exchange("hello naming the agent (the reply carries a fresh nonce)", { op: "hello", rid: 1, version: 1, client: "doc", agent: "planner" });
const nonce = (await import("../sdk/codec/codec.ts")).decodeValue(received.subarray(4)) as { nonce: Uint8Array };
const data = authBytes({ agent: "planner", kid: "planner-1", nonce: nonce.nonce });
console.log(`The auth bytes for this nonce (${data.length} bytes):\n\n\`\`\`\n${hex(data)}\n\`\`\`\n`);
const key = await importKey({ alg: "hmac-sha256", kid: "planner-1", use: "sign", raw: secret });
const proof = await proveAuth(key, { agent: "planner", nonce: nonce.nonce });
await exchange("auth (proof: HMAC-SHA256 of the auth bytes)", { op: "auth", rid: 2, kid: "planner-1", proof });
sock.end();
await server.shutdown(100);
rmSync(dir, { recursive: true, force: true });
process.exit(0);
