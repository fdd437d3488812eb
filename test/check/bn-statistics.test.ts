/**
 * The query BatchNorm statistics knobs: `bn_momentum` on peer/pkm (only with
 * query_norm batch, in (0, 1]) and the train setting `bn_recalibrate N`. Specs
 * that write neither keep their IR (and so their spec hash) unchanged.
 */
import { describe, expect, it } from "vitest";
import { specHash } from "../../compiler/check/hash.js";
import { check, codes, layer, modelWith, onlyModel } from "./helpers.js";

const PEER = "  peer(experts: 16^2, heads: 2, topk: 4, key_dim: 16";

function trainSpec(extra: string): string {
  return modelWith(`${PEER})`, { post: `train m {\n  batch 4\n  steps 10\n  optimizer adamw(lr: 1e-3)\n${extra}}\n` });
}

describe("bn_momentum", () => {
  it("is carried into the IR as written, on peer and pkm", () => {
    expect(layer(`${PEER}, bn_momentum: 0.1)`, "peer").bnMomentum).toBe(0.1);
    expect(layer("  pkm(memories: 16^2, heads: 2, topk: 4, key_dim: 16, bn_momentum: 1)", "pkm").bnMomentum).toBe(1);
  });

  it("is absent from the IR when not written, so the hash of such a spec is what it was", () => {
    const peer = layer(`${PEER})`, "peer");
    expect("bnMomentum" in peer).toBe(false);
    // Writing the knob is a different spec: its hash differs from the one without it.
    const without = onlyModel(check(modelWith(`${PEER})`)));
    const withKnob = onlyModel(check(modelWith(`${PEER}, bn_momentum: 0.5)`)));
    expect(specHash(withKnob)).not.toBe(specHash(without));
    expect(without.hash).toBe(specHash(without));
  });

  it("outside (0, 1] is E0214 at the argument", () => {
    for (const bad of ["0", "1.5", "-0.1"]) {
      const r = check(modelWith(`${PEER}, bn_momentum: ${bad})`));
      expect(codes(r)).toEqual(["E0214"]);
      const d = r.diagnostics[0]!;
      expect(d.message).toBe("`bn_momentum` must be > 0 and ≤ 1");
      // Line 6 of modelWith's text, where `bn_momentum: …` starts.
      expect([d.span!.line, d.span!.column]).toEqual([6, `${PEER}, `.length + 1]);
    }
  });

  it("with query_norm layer or none is E0315 at bn_momentum, pointing at query_norm too", () => {
    for (const norm of ["layer", "none"]) {
      const r = check(modelWith(`${PEER}, query_norm: ${norm}, bn_momentum: 0.1)`));
      expect(codes(r)).toEqual(["E0315"]);
      const d = r.diagnostics[0]!;
      expect(d.message).toBe(`peer bn_momentum needs query_norm: batch (this layer's query norm is ${norm})`);
      expect([d.span!.line, d.span!.column]).toEqual([6, `${PEER}, query_norm: ${norm}, `.length + 1]);
      expect(d.labels.map((l) => [l.span.column, l.message])).toEqual([[`${PEER}, `.length + 1, `query_norm ${norm} here`]]);
    }
    const pkm = check(modelWith("  pkm(memories: 16^2, heads: 2, topk: 4, key_dim: 16, query_norm: layer, bn_momentum: 0.1)"));
    expect(codes(pkm)).toEqual(["E0315"]);
  });

  it("a wrong type is E0206", () => {
    expect(codes(check(modelWith(`${PEER}, bn_momentum: fast)`)))).toEqual(["E0206"]);
  });
});

describe("bn_recalibrate", () => {
  it("is the number of batches, absent from the IR when not written", () => {
    expect(onlyModel(check(trainSpec("  bn_recalibrate 4\n"))).train!.bnRecalibrate).toBe(4);
    expect(onlyModel(check(trainSpec("  bn_recalibrate 0\n"))).train!.bnRecalibrate).toBe(0);
    expect("bnRecalibrate" in onlyModel(check(trainSpec(""))).train!).toBe(false);
  });

  it("a negative count or a fraction is refused at the setting", () => {
    const negative = check(trainSpec("  bn_recalibrate -1\n"));
    expect(codes(negative)).toEqual(["E0210"]);
    expect(negative.diagnostics[0]!.message).toBe("`bn_recalibrate` must be at least 0");
    // modelWith has 9 lines before `post`, then `train m {`, batch, steps, optimizer.
    expect([negative.diagnostics[0]!.span!.line, negative.diagnostics[0]!.span!.column]).toEqual([14, 3]);
    expect(codes(check(trainSpec("  bn_recalibrate 2.5\n")))).toEqual(["E0206"]);
  });

  it("a misspelling suggests it", () => {
    const r = check(trainSpec("  bn_recalibrat 4\n"));
    expect(codes(r)).toEqual(["E0506"]);
    expect(r.diagnostics[0]!.help).toContain("bn_recalibrate");
  });
});
