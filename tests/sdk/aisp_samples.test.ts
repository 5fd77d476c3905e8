/**
 * The sample documents the AISP 5.1 reference validator publishes tiers for
 * (tests/vectors/aisp/samples/README.md), graded by `gradeDocument()`:
 * agreement with the published tier, δ, blocks and bindings, and every
 * difference named with its reason (docs/grading.md has the table).
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AISPGrader, AISPParser } from "../../mod.ts";

const dir = join(import.meta.dir, "..", "vectors", "aisp", "samples");
const grader = new AISPGrader();

// [file, published tier, published δ, published bindings, our δ, why they differ]
const SAMPLES: [string, string, number, number | undefined, number, string][] = [
  ["tic-tac-toe-minimal.aisp", "platinum", 0.76, 12, 0.76, ""],
  ["tic-tac-toe-standard.aisp", "platinum", 1, 41, 1, ""],
  ["tic-tac-toe-full.aisp", "platinum", 1, 51, 1, ""],
  ["tic-tac-toe-existing.aisp", "platinum", 1, 28, 1, ""],
  // The README shows "tier ◊⁺⁺, delta 0.82" for its example, but by the validator's own
  // published formula (δ = 0.4 × blocks/5 + 0.6 × min(1, bindings/20)) its 5 blocks and 8
  // bindings (γ≔, ∀ twice, ≜ four times, λ) give 0.64: gold. Its figure is illustrative.
  ["validator-readme-example.aisp", "platinum", 0.82, undefined, 0.64, "the README's figure does not follow its formula"],
];

test("sample documents: tiers, δ and bindings as published; differences explained", () => {
  let agree = 0;
  const report: string[] = [];
  for (const [file, tier, delta, bindings, ours, why] of SAMPLES) {
    const text = readFileSync(join(dir, file), "utf8");
    expect(new AISPParser().parseString(text).errors).toBeUndefined();
    const g = grader.gradeDocument(text);
    expect(g.breakdown.blocks).toBe(5);
    if (bindings !== undefined) expect(g.breakdown.bindings).toBe(bindings);
    expect(g.semanticDensity).toBe(ours);
    if (g.tier === tier && g.semanticDensity === delta) agree++;
    else {
      expect(why).not.toBe("");
      report.push(`${file}: published ${tier} δ ${delta}, graded ${g.tier} δ ${g.semanticDensity} (${why})`);
    }
  }
  console.log(`reference samples: ${agree} of ${SAMPLES.length} agree${report.length > 0 ? "; " + report.join("; ") : ""}`);
  expect(agree).toBe(4);
});
