/**
 * Messages and payloads in their JSON form (docs/protocol.md, "JSON form";
 * bytes as `{"$bin": ...}`) on the command line: JSON given in a flag, a
 * payload read from it, a message printed as it.
 *
 * @module
 */
import { deserialize, serialize } from "../../sdk/codec/json.ts";
import type { AISPMessage } from "../../sdk/envelope/envelope.ts";
import { UsageError } from "./args.ts";

/** `text` parsed as JSON; not JSON is a usage error naming `--<flag>`. */
export function parseJsonFlag(flag: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--${flag} is not valid JSON: ${(e as Error).message}`);
  }
}

/** A payload in the JSON form, through deserialize() with a stand-in envelope (the bytes' `$bin` decoded). */
export function payloadOf(v: unknown): unknown {
  return deserialize(JSON.stringify({ v: 1, id: "x", opId: "x", type: "x", sender: "x", receiver: "x", timestamp: 0, payload: v })).payload;
}

/** The JSON form of `m`, as a value to print within a line of JSON. */
export function messageJson(m: AISPMessage): unknown {
  return JSON.parse(serialize(m));
}
