/**
 * The spec-syntax check: every statement of a task spec parsed, and each
 * parse error reported as a validation issue at the statement's path. What
 * `validate(msg, { checkSpecSyntax: true })`, the builder's `validate()` and
 * ampd's `--spec-syntax` report.
 *
 * @module
 */
import { formatPath, type Issue } from "../errors.ts";
import { AISPParser } from "./parser.ts";
import { isBlank } from "./tokenizer.ts";
import { MAX_GRADED } from "./grader.ts";

const parser = new AISPParser();

/**
 * The parse errors of a spec's statements as issues, with paths such as
 * `["spec", "preconditions", 1]` and the line and column in the message.
 * Blank conditions are left alone (the grader ignores them); an empty task
 * is the schema's to report. Statements past `MAX_GRADED` characters in all
 * are not parsed, and are an issue each.
 *
 * @example
 * ```ts
 * import { specSyntaxIssues } from "@ampbus/ampbus";
 *
 * const issues = specSyntaxIssues({ preconditions: ["ok(x)", "∀ ∈ Files"], task: "t ≜ 1", postconditions: [] });
 * if (issues.length !== 1 || issues[0].path.join(".") !== "spec.preconditions.1") throw new Error(JSON.stringify(issues));
 * if (issues[0].message !== "spec.preconditions[1] does not parse at line 1, column 3: expected a bound variable after ∀, found ∈") throw new Error(issues[0].message);
 * ```
 */
export function specSyntaxIssues(spec: { readonly preconditions: readonly string[]; readonly task: string; readonly postconditions: readonly string[] }): Issue[] {
  const out: Issue[] = [];
  let budget = MAX_GRADED;
  const check = (path: (string | number)[], text: string) => {
    if (isBlank(text)) return;
    if (text.length > budget) {
      out.push({ path, message: `${formatPath(path)} is not checked: a spec's statements are parsed up to ${MAX_GRADED} characters in all` });
      return;
    }
    budget -= text.length;
    const r = parser.parseString(text);
    for (const e of r.errors ?? []) {
      out.push({ path, message: `${formatPath(path)} does not parse at line ${e.line}, column ${e.column}: ${e.message}` });
    }
  };
  spec.preconditions.forEach((s, i) => check(["spec", "preconditions", i], s));
  check(["spec", "task"], spec.task);
  spec.postconditions.forEach((s, i) => check(["spec", "postconditions", i], s));
  return out;
}
