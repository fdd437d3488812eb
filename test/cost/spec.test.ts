// From spec text to report, through the real checker.
import { describe, expect, it } from "vitest";
import { checkFiles, checkSource } from "../../compiler/check/index.js";
import { costModel } from "../../compiler/cost/index.js";
import { renderReport } from "../../compiler/report/index.js";
import { ReportJsonSchema } from "../../compiler/report/schema.js";
import { evaluateBudgets } from "../../compiler/budget/evaluate.js";
import * as path from "node:path";

const repo = path.resolve(import.meta.dirname, "../..");

describe("spec → cost", () => {
  it("the paper's four models have the §4 layer figures", () => {
    const r = checkFiles([path.join(repo, "specs/paper.peer")]);
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const byName = new Map(r.program.models.map((m) => [m.name, costModel(m)]));
    const layer = (model: string, kind: string) => byName.get(model)!.layers.find((l) => l.kind === kind)!;
    expect(layer("peer", "peer").params).toBe(2_149_849_088n);
    expect(layer("pkm", "pkm").paramsBreakdown.values).toBe(1_073_741_824n);
    expect(layer("moe", "moe").paramsBreakdown.experts).toBe(1_073_741_824n);
    // the dense model: 12 × (4d² + 8d² + 2d norms) + 32000·d + d, tied head
    const d = 1024n;
    expect(byName.get("dense")!.totals.params).toBe(12n * (4n * d * d + 8n * d * d + 2n * d) + 32000n * d + d);
    const json = JSON.parse(renderReport([...byName.values()], { format: "json", depth: 99, color: false }));
    expect(ReportJsonSchema.safeParse(json).success).toBe(true);
    expect(json.models[3].layers.find((l: { kind: string }) => l.kind === "peer").span.file).toMatch(/paper\.peer$/);
  });

  it("a broken budget in spec text points at its line", () => {
    const text = [
      "model m {",
      "  vocab 256",
      "  context 64",
      "  embed tokens(dim: 64)",
      "  residual { norm rms; peer(experts: 128^2, heads: 2, topk: 4, key_dim: 32) }",
      "  lm_head tied",
      "}",
      "budget m {",
      "  params <= 1M",
      "}",
    ].join("\n");
    const r = checkSource("m.peer", text);
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const m = r.program.models[0]!;
    const [d] = evaluateBudgets(m, costModel(m));
    expect(d!.code).toBe("E0601");
    expect(d!.span!.line).toBe(9);
    expect(d!.message).toMatch(/^params is [\d.]+M, over the budget of 1M by \d+%$/);
    expect(d!.notes.join("\n")).toMatch(/peer: [\d.]+M \(\d+%\)/);
  });
});
