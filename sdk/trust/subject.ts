/**
 * Stream patterns in the style of NATS subjects: a stream name is split at
 * `.` into tokens; in a pattern `*` stands for exactly one token and a final
 * `>` for one or more. `tasks.*` matches `tasks.build` but not `tasks` or
 * `tasks.build.x`; `tasks.>` matches both of the latter's longer forms;
 * `>` alone matches every stream.
 *
 * @module
 */

/**
 * A compiled stream pattern.
 *
 * @example
 * ```ts
 * import { StreamPattern } from "@ampbus/ampbus";
 *
 * const p = StreamPattern.parse("inbox.*");
 * if (!p.matches("inbox.tester") || p.matches("inbox.a.b") || p.matches("inbox")) throw new Error("wrong match");
 * if (!StreamPattern.parse("tasks.>").matches("tasks.a.b")) throw new Error("> matches the rest");
 * ```
 */
export class StreamPattern {
  /** The pattern as written. */
  readonly source: string;
  readonly #tokens: readonly string[];
  readonly #tail: boolean;

  private constructor(source: string, tokens: string[], tail: boolean) {
    this.source = source;
    this.#tokens = tokens;
    this.#tail = tail;
  }

  /**
   * Parses a pattern; throws `TypeError` saying what is wrong for an empty
   * pattern or token, or a `>` that is not the last token. Longest: 256 characters.
   */
  static parse(source: string): StreamPattern {
    if (typeof source !== "string" || source.length === 0 || source.length > 256) {
      throw new TypeError(`a stream pattern is 1 to 256 characters (was ${JSON.stringify(source) ?? typeof source})`);
    }
    if (/[\s\x00-\x1f\x7f{}]/.test(source)) throw new TypeError(`stream pattern ${JSON.stringify(source)} holds white space, a control character or a brace`);
    const tokens = source.split(".");
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (t === "") throw new TypeError(`stream pattern ${JSON.stringify(source)} has an empty token (two dots, or a dot at an end)`);
      if (t === ">" && i !== tokens.length - 1) throw new TypeError(`stream pattern ${JSON.stringify(source)}: ">" may only be the last token`);
      if (t !== "*" && t !== ">" && (t.includes("*") || t.includes(">"))) {
        throw new TypeError(`stream pattern ${JSON.stringify(source)}: "*" and ">" stand alone as a token ("${t}" mixes them with text)`);
      }
    }
    const tail = tokens[tokens.length - 1] === ">";
    return new StreamPattern(source, tail ? tokens.slice(0, -1) : tokens, tail);
  }

  /** True when `stream` matches. (Callers cache answers per stream: this splits the name.) */
  matches(stream: string): boolean {
    const parts = stream.split(".");
    const tokens = this.#tokens;
    if (this.#tail ? parts.length <= tokens.length : parts.length !== tokens.length) return false;
    for (let i = 0; i < tokens.length; i++) {
      if (tokens[i] === "*" ? parts[i] === "" : tokens[i] !== parts[i]) return false;
    }
    return true;
  }

  /** The pattern as written. */
  toString(): string {
    return this.source;
  }
}
