import { describe, expect, it } from "vitest";
import { check, codes, layersOf, modelWith, onlyModel } from "./helpers.js";

const BLOCKS = `
block pair(width, mult = 4, hidden = mult * width) {
  residual {
    norm rms
    ffw(hidden: hidden)
  }
}
`;

describe("blocks", () => {
  it("binds named and positional arguments, with defaults that use earlier parameters", () => {
    const m = onlyModel(check(modelWith("  pair(width: 16)\n  pair(16, 2)\n  pair(8, hidden: 40)", { pre: BLOCKS })));
    expect(layersOf(m, "ffw").map((l) => l.hidden)).toEqual([64, 32, 40]);
    expect(m.layers.map((l) => l.path)).toEqual([
      "embed", "pair.norm", "pair.ffw", "pair_2.norm", "pair_2.ffw", "pair_3.norm", "pair_3.ffw", "norm", "lm_head",
    ]);
    expect(m.residuals.map((r) => [r.path, r.start, r.end])).toEqual([
      ["pair.residual", 1, 3], ["pair_2.residual", 3, 5], ["pair_3.residual", 5, 7],
    ]);
  });

  it("reports unknown, duplicate, missing and surplus arguments at the argument", () => {
    const unknown = check(modelWith("  pair(widht: 16)", { pre: BLOCKS }));
    expect(codes(unknown)).toEqual(["E0110"]);
    expect(unknown.diagnostics[0]!.help).toBe("did you mean `width`?");
    expect(codes(check(modelWith("  pair(width: 16, width: 8)", { pre: BLOCKS })))).toEqual(["E0112"]);
    expect(codes(check(modelWith("  pair(mult: 2)", { pre: BLOCKS })))).toEqual(["E0111"]);
    expect(codes(check(modelWith("  pair(1, 2, 3, 4)", { pre: BLOCKS })))).toEqual(["E0113"]);
  });

  it("refuses mutual recursion, naming the chain", () => {
    const r = check(modelWith("  a()", { pre: "block a() { b() }\nblock b() { a() }" }));
    expect(codes(r)).toEqual(["E0108"]);
    expect(r.diagnostics[0]!.message).toContain("a → b → a");
  });

  it("sees top-level lets of its own file but not the caller's locals", () => {
    const r = check(modelWith("  let local = 8\n  uses()", { pre: "let top = 32\nblock uses() { ffw(hidden: top + local) }" }));
    expect(codes(r)).toContain("E0201"); // `local` is a word inside the block: int + word
  });
});

describe("repeat, if and residual", () => {
  it("counts the index from 0 and names paths by iteration", () => {
    const m = onlyModel(check(modelWith("  repeat 3 as i {\n    ffw(hidden: 8 * (i + 1))\n  }")));
    expect(layersOf(m, "ffw").map((l) => [l.path, l.hidden])).toEqual([
      ["blocks.0.ffw", 8], ["blocks.1.ffw", 16], ["blocks.2.ffw", 24],
    ]);
  });

  it("numbers a second repeat in the same body apart from the first, and nests", () => {
    const m = onlyModel(check(modelWith("  repeat 1 { ffw(hidden: 8) }\n  repeat 2 as i { repeat 1 { norm } }")));
    expect(m.layers.map((l) => l.path).slice(1, -2)).toEqual(["blocks.0.ffw", "blocks_2.0.blocks.0.norm", "blocks_2.1.blocks.0.norm"]);
  });

  it("picks the branch of if / else if / else", () => {
    const widths = (i: number) =>
      layersOf(onlyModel(check(modelWith(`  let i = ${i}\n  if i == 0 { ffw(hidden: 1) } else if i < 5 { ffw(hidden: 2) } else { ffw(hidden: 3) }`))), "ffw").map((l) => l.hidden);
    expect([widths(0), widths(3), widths(9)]).toEqual([[1], [2], [3]]);
  });

  it("refuses non-bool conditions and out-of-range repeat counts", () => {
    expect(codes(check(modelWith('  if "yes" { norm }')))).toEqual(["E0208"]);
    expect(codes(check(modelWith("  repeat 10001 { norm }")))).toEqual(["E0211"]);
    expect(codes(check(modelWith("  repeat 2.5 { norm }")))).toEqual(["E0211"]);
  });

  it("wraps residual ranges around the layers of its body, nested properly", () => {
    const m = onlyModel(check(modelWith("  residual {\n    norm\n    residual { ffw(hidden: 8) }\n  }")));
    expect(m.residuals.map((r) => [r.start, r.end])).toEqual([[1, 3], [2, 3]]);
    expect(codes(check(modelWith("  residual { }")))).toEqual(["E0408"]);
  });

  it("keeps model properties at the top of the model", () => {
    expect(codes(check(modelWith("  repeat 1 { vocab 8 }")))).toEqual(["E0109"]);
  });
});

describe("sweeps", () => {
  it("expands a list argument into one variant per value, named after the argument", () => {
    const r = check(modelWith("  peer(experts: [16^2, 32^2], topk: 4)"));
    expect(codes(r)).toEqual([]);
    expect(r.program.models.map((m) => m.name)).toEqual(["m[experts=256]", "m[experts=1024]"]);
    expect(r.program.models.every((m) => m.baseName === "m")).toBe(true);
    expect(r.program.models[1]!.sweep!.map((s) => [s.name, s.value])).toEqual([["experts", 1024]]);
  });

  it("treats a let-bound list used twice as one axis named after the let", () => {
    const r = check(modelWith("  ffw(hidden: w)\n  ffw(hidden: 2 * w)", { pre: "let w = [8, 16, 24]" }));
    expect(r.program.models.map((m) => m.name)).toEqual(["m[w=8]", "m[w=16]", "m[w=24]"]);
    expect(layersOf(r.program.models[2]!, "ffw").map((l) => l.hidden)).toEqual([24, 48]);
  });

  it("takes the cartesian product of distinct lists", () => {
    const r = check(modelWith("  ffw(hidden: [8, 16], act: [relu, gelu, silu])"));
    expect(r.program.models).toHaveLength(6);
    expect(r.program.models[5]!.name).toBe("m[hidden=16,act=silu]");
    expect(new Set(r.program.models.map((m) => m.hash)).size).toBe(6);
  });

  it("caps the number of variants", () => {
    const r = check(modelWith("  ffw(hidden: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17], act: [relu, gelu, silu, tanh, sigmoid, identity, gelu_tanh, relu, gelu, silu, tanh, sigmoid, identity, gelu_tanh, relu, gelu])"));
    expect(codes(r)).toEqual(["E0212"]);
    expect(r.program.models).toEqual([]);
  });

  it("sweeps train settings with the model", () => {
    const r = check(modelWith("", { post: "train m {\n batch 8\n steps 10\n optimizer adamw(lr: [1e-3, 3e-4])\n}" }));
    expect(r.program.models.map((m) => m.train!.optimizer.lr)).toEqual([1e-3, 3e-4]);
    expect(r.program.models[1]!.name).toBe("m[lr=0.0003]");
  });

  it("sweeps repeat counts, naming the axis `repeat`", () => {
    const r = check(modelWith("  repeat [1, 3] { norm }"));
    expect(r.program.models.map((m) => [m.name, m.layers.length])).toEqual([["m[repeat=1]", 4], ["m[repeat=3]", 6]]);
  });

  it("refuses a condition that depends on a list", () => {
    expect(codes(check(modelWith("  if [1, 2] == 1 { norm }")))).toEqual(["E0209"]);
  });
});
