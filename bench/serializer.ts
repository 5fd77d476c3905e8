/**
 * The serializer benchmark: ampbus's encode/decode, compression and signature
 * paths against what a user has for free (JSON + TextEncoder) and the
 * MessagePack libraries they would otherwise pick (@msgpack/msgpack, msgpackr),
 * on three messages. Runs unchanged on Bun and Deno; Node runs a bundle of it
 * (see `run.ts` and README.md).
 *
 * Usage: `bun bench/serializer.ts [--time=MS] [--json]`
 * - `--time=MS`: minimum CPU time per row, in milliseconds. Defaults to 250.
 * - `--json`: print the report as one line of JSON instead of tables (for `run.ts`).
 *
 * @module
 */
import { measure } from "mitata";
import { Decoder, Encoder } from "@msgpack/msgpack";
import { isNativeAccelerationEnabled, pack, unpack } from "msgpackr";
import {
  type AISPMessage,
  AISPMessageSerializer,
  AISPParser,
  compressBytes,
  compressionEngine,
  type CompressionEngine,
  decode,
  decompressBytes,
  encode,
  generateHmacKey,
  grade,
  generateKeyPair,
  runtime,
  setCompressionEngine,
  sign,
  verify,
} from "../mod.ts";
import { MESSAGES, result16k, seed } from "./_messages.ts";
import { scanGrade } from "./_grade_scan.ts";
import { formatReport, type Report, ROW, type RowResult, type Side } from "./_table.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const args: string[] = g.Deno?.args ?? g.process.argv.slice(2);
const asJson = args.includes("--json");
const timeMs = Number(args.find((a) => a.startsWith("--time="))?.slice(7) ?? 250);

const version: string = runtime === "bun" ? g.Bun.version : runtime === "deno" ? g.Deno.version.deno : g.process.version;

const te = new TextEncoder();
const td = new TextDecoder();
const mpEncoder = new Encoder();
const mpDecoder = new Decoder();

const rows: RowResult[] = [];
const notes: string[] = [];

interface Spec {
  name: string;
  fn: () => unknown;
  bytes?: number;
  side?: Side;
  throughputBytes?: number;
}

async function run(group: string, spec: Spec): Promise<void> {
  const stats = await measure(spec.fn, { min_cpu_time: timeMs * 1e6 });
  rows.push({ group, name: spec.name, ns: stats.p50, bytes: spec.bytes, side: spec.side, throughputBytes: spec.throughputBytes });
  if (!asJson) g.process?.stderr?.write?.(".");
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench self-check failed: ${what}`);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const ed = await generateKeyPair("bench-ed25519");
const hmac = await generateHmacKey("bench-hmac");

async function messageRows(name: string, msg: AISPMessage): Promise<void> {
  const json = te.encode(JSON.stringify(msg));
  const mp = mpEncoder.encode(msg);
  const mpr = pack(msg);
  const ours = encode(msg);
  const small = await AISPMessageSerializer.encodeCompressed(msg);
  const signedEd = await sign(msg, ed.signingKey);
  const signedHmac = await sign(msg, hmac);

  // Every path must round-trip before its speed means anything.
  const canon = JSON.stringify(msg);
  check(JSON.stringify(JSON.parse(td.decode(json))) === canon, `${name}: JSON round trip`);
  check(sameBytes(encode(decode(ours)), ours), `${name}: ampbus round trip`);
  check(sameBytes(encode(await AISPMessageSerializer.decodeExpanded(small)), ours), `${name}: compressed round trip`);
  check(JSON.stringify(mpDecoder.decode(mp)) === canon && JSON.stringify(unpack(mpr)) === canon, `${name}: msgpack round trips`);
  check(await verify(signedEd, [ed.verifyingKey]) && await verify(signedHmac, [hmac]), `${name}: signatures verify`);

  const specs: Spec[] = [
    { name: ROW.jsonEncode, fn: () => te.encode(JSON.stringify(msg)), bytes: json.length, side: "encode" },
    { name: ROW.jsonDecode, fn: () => JSON.parse(td.decode(json)), bytes: json.length, side: "decode" },
    { name: "@msgpack/msgpack Encoder.encode", fn: () => mpEncoder.encode(msg), bytes: mp.length, side: "encode" },
    { name: "@msgpack/msgpack Decoder.decode", fn: () => mpDecoder.decode(mp), bytes: mp.length, side: "decode" },
    { name: "msgpackr pack", fn: () => pack(msg), bytes: mpr.length, side: "encode" },
    { name: "msgpackr unpack", fn: () => unpack(mpr), bytes: mpr.length, side: "decode" },
    { name: ROW.oursEncode, fn: () => encode(msg), bytes: ours.length, side: "encode" },
    { name: ROW.oursDecode, fn: () => decode(ours), bytes: ours.length, side: "decode" },
    { name: ROW.oursCompressed, fn: () => AISPMessageSerializer.encodeCompressed(msg), bytes: small.length, side: "encode" },
    { name: "ampbus decodeExpanded", fn: () => AISPMessageSerializer.decodeExpanded(small), bytes: small.length, side: "decode" },
    { name: "sign ed25519", fn: () => sign(msg, ed.signingKey), bytes: encode(signedEd).length },
    { name: "verify ed25519", fn: () => verify(signedEd, [ed.verifyingKey]) },
    { name: "sign hmac-sha256", fn: () => sign(msg, hmac), bytes: encode(signedHmac).length },
    { name: "verify hmac-sha256", fn: () => verify(signedHmac, [hmac]) },
  ];
  for (const s of specs) await run(name, s);
}

async function compressionRows(): Promise<void> {
  const raw = encode(result16k);
  const engines: CompressionEngine[] = ["node:zlib", "CompressionStream", "polyfill"];
  for (const e of engines) {
    setCompressionEngine(e);
    if (e === "CompressionStream" && typeof g.CompressionStream !== "function") {
      notes.push("CompressionStream is not available on this runtime");
      continue;
    }
    if ((await compressionEngine()) !== e) {
      notes.push(`${e} is not available on this runtime`);
      continue;
    }
    const z = await compressBytes(raw);
    check(sameBytes(await decompressBytes(z), raw), `${e}: compression round trip`);
    await run("compression", { name: `${e} ${ROW.compress}`, fn: () => compressBytes(raw), bytes: z.length, throughputBytes: raw.length });
    await run("compression", { name: `${e} ${ROW.decompress}`, fn: () => decompressBytes(z), bytes: raw.length, throughputBytes: raw.length });
  }
  setCompressionEngine(undefined);
}

/**
 * The AISP rows: parse + grade of the seed spec (what ampd does for every add
 * with a spec), the grader ampbus had before the parser, and the parser's
 * worst shapes found by the fuzz (1 KiB each; throughput is bytes of input).
 */
async function aispRows(): Promise<void> {
  const spec = seed.spec!;
  const parser = new AISPParser();
  const statements = [...spec.preconditions, spec.task, ...spec.postconditions];
  check(grade(spec).tier === "platinum" && grade(spec).score === 0.9342, "the seed spec grades platinum at 0.9342");
  check(scanGrade(spec).score === 0.9342, "the former grader gave the seed 0.9342 too");
  check(statements.every((s) => parser.parseString(s).success), "the seed's statements parse");
  await run("AISP spec", { name: "grade() (tokenize + parse + grade, seed spec)", fn: () => grade(spec) });
  await run("AISP spec", { name: "AISPParser.parseString (the seed's 3 statements)", fn: () => statements.map((s) => parser.parseString(s)) });
  await run("AISP spec", { name: "former grade() (char scan + regex, no AST)", fn: () => scanGrade(spec) });
  for (const shape of ["f(x)", "λx.", "a ∧ ", "λ.\n"]) {
    const input = shape.repeat(Math.ceil(1024 / shape.length)).slice(0, 1024);
    await run("AISP spec", { name: `parseString, 1 KiB of ${JSON.stringify(shape)}`, fn: () => parser.parseString(input), throughputBytes: 1024 });
  }
}

notes.push(`default compression engine: ${await compressionEngine()}`);
notes.push(`msgpackr native string extraction (msgpackr-extract): ${isNativeAccelerationEnabled ? "on" : "off"}`);
for (const { name, msg } of MESSAGES) await messageRows(name, msg);
await compressionRows();
await aispRows();

const report: Report = { runtime, version, runs: 1, rows, notes };
if (asJson) console.log(JSON.stringify(report));
else {
  g.process?.stderr?.write?.("\n");
  console.log(formatReport(report));
}
