/**
 * A JSON parser that remembers the line of every value, so that a keyring
 * that is wrong can be refused with the line and field that are wrong.
 * Duplicate keys are an error (JSON.parse would keep the last one silently).
 *
 * @module
 */

/** A JSON syntax error at a line and column (1-based). */
export class JsonSyntaxError extends Error {
  readonly line: number;
  readonly column: number;
  constructor(message: string, at: { line: number; column: number }) {
    super(`line ${at.line}, column ${at.column}: ${message}`);
    this.name = "JsonSyntaxError";
    this.line = at.line;
    this.column = at.column;
  }
}

/** The parsed value and the line each value starts on, by path (`pathKey()`). */
export interface JsonWithLines {
  value: unknown;
  lines: Map<string, number>;
}

/** The key of a path in `JsonWithLines.lines`. */
export function pathKey(path: readonly (string | number)[]): string {
  return JSON.stringify(path);
}

/** Deepest nesting accepted. */
const MAX_DEPTH = 64;

/** Parses `text` as JSON; throws `JsonSyntaxError`. */
export function parseJsonWithLines(text: string): JsonWithLines {
  const lines = new Map<string, number>();
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const fail = (message: string): never => {
    throw new JsonSyntaxError(message, { line, column: i - lineStart + 1 });
  };
  const space = () => {
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x0a) {
        line++;
        lineStart = i + 1;
      } else if (c !== 0x20 && c !== 0x09 && c !== 0x0d) break;
    }
  };
  const str = (): string => {
    const start = ++i;
    let out = "";
    let from = start;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(from, i++);
        return out;
      }
      if (c < 0x20) fail("a control character inside a string (a string must end on its line)");
      if (c === 0x5c) {
        out += text.slice(from, i);
        const e = text[++i];
        const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
        if (e in simple) out += simple[e];
        else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) {
          out += String.fromCharCode(parseInt(text.slice(i + 1, i + 5), 16));
          i += 4;
        } else fail(`bad escape \\${e ?? ""}`);
        from = i + 1;
      }
    }
    return fail("a string is not closed");
  };
  const value = (path: (string | number)[], depth: number): unknown => {
    space();
    if (depth > MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH}`);
    lines.set(pathKey(path), line);
    const c = text[i];
    if (c === "{") {
      i++;
      const obj: Record<string, unknown> = {};
      space();
      if (text[i] === "}") {
        i++;
        return obj;
      }
      for (;;) {
        space();
        if (text[i] !== '"') fail(`expected a key in double quotes, found ${text[i] === undefined ? "the end" : JSON.stringify(text[i])}`);
        const k = str();
        if (Object.hasOwn(obj, k)) fail(`key ${JSON.stringify(k)} appears twice`);
        space();
        if (text[i] !== ":") fail(`expected ":" after key ${JSON.stringify(k)}`);
        i++;
        // defineProperty: "__proto__" is an ordinary key here, as in JSON.parse.
        Object.defineProperty(obj, k, { value: value([...path, k], depth + 1), enumerable: true, writable: true, configurable: true });
        space();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return obj;
        }
        return fail(`expected "," or "}" after the value of ${JSON.stringify(k)}`);
      }
    }
    if (c === "[") {
      i++;
      const arr: unknown[] = [];
      space();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value([...path, arr.length], depth + 1));
        space();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return arr;
        }
        return fail(`expected "," or "]" in a list`);
      }
    }
    if (c === '"') return str();
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (m === null) return fail(c === undefined ? "unexpected end of the file" : `unexpected ${JSON.stringify(c)}`);
    i += m[0].length;
    return JSON.parse(m[0]);
  };
  const v = value([], 0);
  space();
  if (i < text.length) fail(`unexpected ${JSON.stringify(text[i])} after the end of the JSON value`);
  return { value: v, lines };
}
