/**
 * The AISP golden vectors (tests/vectors/aisp/vectors.json, written by
 * tests/vectors/aisp/generate.ts) hold: the tokens, errors and grades this SDK
 * computes now are those the Python client is checked against.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AISP_SYMBOL_TABLE, AISPGrader, AISPParser, type GradableSpec } from "../../mod.ts";

const vectors = JSON.parse(readFileSync(join(import.meta.dir, "..", "vectors", "aisp", "vectors.json"), "utf8"));
const parser = new AISPParser();
const grader = new AISPGrader();

test("the vectors cover the symbol table, hundreds of statements and specs, and the sample documents", () => {
  expect(vectors.symbols).toEqual(AISP_SYMBOL_TABLE.map((s) => [s.symbol, s.category, s.ascii ?? null]));
  expect(vectors.parse.length).toBeGreaterThan(300);
  expect(vectors.grades.length).toBeGreaterThan(100);
  expect(vectors.parse.filter((v: { errors: unknown[] }) => v.errors.length > 0).length).toBeGreaterThan(50);
});

test("tokens and errors", () => {
  for (const v of vectors.parse) {
    const tokens = parser.tokenize(v.input);
    const rows = tokens.map((t) => [t.kind, t.text, t.start.line, t.start.column, t.start.offset, t.end.line, t.end.column, t.end.offset, t.symbol ?? null]);
    expect([v.input, rows]).toEqual([v.input, v.tokens]);
    const errors = (parser.parse(tokens).errors ?? []).map((e) => [e.message, e.line, e.column, e.offset]);
    expect([v.input, errors]).toEqual([v.input, v.errors]);
  }
});

test("grades of specs and documents", () => {
  for (const v of vectors.grades) {
    const spec = v.spec as { evidence?: { confidence: number | string } };
    if (spec.evidence !== undefined && spec.evidence.confidence === "NaN") spec.evidence.confidence = Number.NaN;
    expect([v.name, grader.grade(spec as GradableSpec)]).toEqual([v.name, v.grade]);
  }
  for (const d of vectors.documents) expect([d.name, grader.gradeDocument(d.text)]).toEqual([d.name, d.grade]);
});
