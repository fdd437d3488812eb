import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { checkFiles } from "../../compiler/check/index.js";

const specs = fs.readdirSync("specs").filter((f) => f.endsWith(".peer")).map((f) => `specs/${f}`);

describe("good specs", () => {
  it("test/fixtures/good/everything.peer checks clean into two sweep variants", () => {
    const r = checkFiles(["test/fixtures/good/everything.peer"]);
    expect(r.diagnostics).toEqual([]);
    expect(r.program.models.map((m) => m.name)).toEqual(["everything[sizes=256]", "everything[sizes=1024]"]);
    const m = r.program.models[1]!;
    expect(m.layers.map((l) => l.kind).join(" ")).toBe(
      "embed norm attention norm ffw norm attention norm moe norm attention norm pkm norm attention norm peer norm lm_head",
    );
    expect(m.layers.find((l) => l.kind === "attention")).toMatchObject({ headDim: 24, kvHeads: 2, rope: { base: 500000 } });
    expect(m.residuals).toHaveLength(8);
    expect(m.train).toMatchObject({ batch: 32, microBatch: 8, horizon: { kind: "tokens", tokens: 10_000_000 } });
    expect(m.budgets).toHaveLength(5);
  });

  for (const spec of specs) {
    it(`${spec} checks clean`, () => {
      const r = checkFiles([spec]);
      expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
      // backbone.peer is a library of lets and blocks: no models of its own.
      expect(r.program.models.length > 0).toBe(spec !== "specs/backbone.peer");
      for (const m of r.program.models) {
        expect(new Set(m.layers.map((l) => l.path)).size).toBe(m.layers.length);
        for (const l of m.layers) expect(l.path).toMatch(/^[a-z0-9_.]+$/);
      }
    });
  }

  it("the paper's PEER layer comes out as the paper describes it", () => {
    const r = checkFiles(["specs/paper.peer"]);
    const peer = r.program.models.find((m) => m.name === "peer")!;
    const layer = peer.layers.find((l) => l.kind === "peer")!;
    expect(layer).toMatchObject({ path: "blocks.5.peer", experts: 1024 ** 2, subKeys: 1024, heads: 8, topk: 16, keyDim: 256, queryNorm: "batch", keys: "shared" });
    expect(peer.train!.horizon).toEqual({ kind: "flops", flops: 2e19 });
  });
});
