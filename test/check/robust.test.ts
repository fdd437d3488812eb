import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { checkSource } from "../../compiler/check/index.js";
import { renderDiagnostics } from "../../diagnostics/render.js";
import { check, codes, modelWith } from "./helpers.js";

/** Small deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ["0", "-1", "2^40", "[]", "[1, 2]", '"s"', "none", "true", "%", "/", "(", ")", "{", "}", ",", ":", "\n", "x", "repeat 3 {", "if", "residual {", "7 / 2"];

describe("robustness", () => {
  it("never throws or reports an internal error on mutated specs", () => {
    const bases = ["specs/tiny.peer", "test/fixtures/good/everything.peer"].map((p) => fs.readFileSync(p, "utf8"));
    const random = rng(42);
    for (let n = 0; n < 300; n++) {
      let text = bases[n % bases.length]!;
      const edits = 1 + Math.floor(random() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * text.length);
        const cut = Math.floor(random() * 6);
        const piece = random() < 0.5 ? PIECES[Math.floor(random() * PIECES.length)]! : "";
        text = text.slice(0, at) + piece + text.slice(at + cut);
      }
      const result = checkSource("fuzz.peer", text, { readFile: () => "let depth = 2\n" });
      expect(result.diagnostics.filter((d) => d.code === "E0199").map((d) => d.message)).toEqual([]);
      for (const d of result.diagnostics) expect(d.span?.file ?? "fuzz.peer").toMatch(/\.peer$/);
      expect(() => renderDiagnostics(result.diagnostics, result.sources, { format: "human", color: false })).not.toThrow();
    }
  });

  it("refuses expansions that would take too long instead of running them", () => {
    const r = check(modelWith("  repeat 10000 { repeat 10000 { repeat 10000 { norm } } }"));
    expect(codes(r)).toEqual(["E0211"]);
    expect(r.diagnostics[0]!.message).toBe("the model expands into more than 200,000 statements");
  });
});
