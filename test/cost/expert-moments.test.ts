/**
 * The static memory report with `expert_moments: bf16`: the sparse tables'
 * Adam moments cost 4 bytes per element instead of 8 at either precision, the
 * dense part and everything else stay as they were, the report says so, and
 * memory budgets follow. A spec that writes `expert_moments: fp32` reports
 * exactly what one that omits it does.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { checkSource } from "../../compiler/check/index.js";
import { costModel, sparseTableTrainBytes } from "../../compiler/cost/index.js";
import { budgetResults } from "../../compiler/budget/evaluate.js";
import { renderReport } from "../../compiler/report/index.js";
import type { IRModel } from "../../ir/types.js";

const repo = path.resolve(import.meta.dirname, "../..");
const TINY = fs.readFileSync(path.join(repo, "specs/tiny.peer"), "utf8");
const OPTIMIZER = "expert_lr: 1e-2)";

/** specs/tiny.peer with extra optimizer arguments (and, optionally, another budget). */
function tiny(extra: string, budget?: string): IRModel {
  let text = TINY.replace(OPTIMIZER, `expert_lr: 1e-2${extra})`);
  if (budget) text = text.replace("memory(train, fp32) <= 1 GiB on cpu", budget);
  const result = checkSource("specs/tiny.peer", text);
  expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return result.program.models[0]!;
}

/** Elements of the model's sparse tables (PEER u and v). */
const sparseElements = (ir: IRModel) =>
  costModel(ir).layers.reduce((s, l) => s + l.sparseTables.reduce((t, x) => t + Number(x.rows) * x.cols, 0), 0);

describe("static memory with bf16 expert moments", () => {
  const fp32 = costModel(tiny(""));
  const bf16 = costModel(tiny(", expert_moments: bf16"));
  const elements = sparseElements(tiny(""));

  it("tiny.peer's PEER layer holds 2 · 4096 · 128 table elements", () => {
    expect(elements).toBe(2 * 4096 * 128);
  });

  it("saves 4 bytes per table element in AdamW state, at fp32 and at bf16 mixed precision, and nothing else", () => {
    for (const p of ["fp32", "bf16"] as const) {
      const a = fp32.train!.peakMemory[p];
      const b = bf16.train!.peakMemory[p];
      expect(a.optimizer - b.optimizer).toBe(4 * elements);
      expect(b.weights).toBe(a.weights);
      expect(b.grads).toBe(a.grads);
      expect(b.activations).toBe(a.activations);
      expect(b.buffers).toBe(a.buffers);
      expect(a.total - b.total).toBe(4 * elements);
    }
  });

  it("only the layer with sparse tables changes", () => {
    for (let i = 0; i < fp32.layers.length; i++) {
      const a = fp32.layers[i]!;
      const b = bf16.layers[i]!;
      const tableBytes = (l: typeof a) => sparseTableTrainBytes(l, "fp32", fp32.train!.tokensPerStep);
      if (a.sparseTables.length === 0) expect(tableBytes(b)).toBe(0);
      else {
        const rowsTimesCols = a.sparseTables.reduce((s, t) => s + Number(t.rows) * t.cols, 0);
        // fp32 moments: weight 4 + m, v 8; bf16 moments: weight 4 + m, v 4 (plus the same touched-row gradients).
        expect(tableBytes(a) - tableBytes(b)).toBe(4 * rowsTimesCols);
      }
    }
  });

  it("a spec that writes expert_moments: fp32 reports exactly what one that omits it does", () => {
    const written = costModel(tiny(", expert_moments: fp32"));
    const render = (c: typeof fp32) => renderReport([c], { format: "table", depth: 9, color: false }).replace(/spec [0-9a-f]{12}/, "");
    expect(render(written)).toBe(render(fp32));
    expect(renderReport([written], { format: "json", depth: 9, color: false })).toBe(renderReport([fp32], { format: "json", depth: 9, color: false }));
  });

  it("the report's memory breakdown says the moments are bf16, and only then", () => {
    const line = (c: typeof fp32, p: string) => renderReport([c], { format: "table", depth: 9, color: false }).split("\n").find((l) => l.startsWith(`peak memory ${p}`))!;
    expect(line(fp32, "fp32")).not.toContain("moments bf16");
    expect(line(bf16, "fp32")).toMatch(/ \+ AdamW [\d.]+ MiB \(expert tables' moments bf16\) \+ activations /);
    expect(line(bf16, "bf16")).toContain("(expert tables' moments bf16)");
    // AdamW: 1,578,624 params × 8 B = 12.04 MiB with fp32 moments; 4 B × 1,048,576 table elements = 4 MiB less with bf16.
    expect(line(fp32, "fp32")).toContain("AdamW 12 MiB");
    expect(line(bf16, "fp32")).toContain("AdamW 8.04 MiB");
  });

  it("a model without expert tables reports the same with either setting", () => {
    const dense = (extra: string) => {
      const text = TINY.replace("peer(experts: 64^2, heads: 4, topk: 8, key_dim: 64, act: gelu, query_norm: batch)", "ffw(hidden: 512, act: gelu)").replace(OPTIMIZER, `expert_lr: 1e-2${extra})`);
      return costModel(checkSource("specs/tiny.peer", text).program.models[0]!);
    };
    const a = renderReport([dense("")], { format: "table", depth: 9, color: false }).replace(/spec [0-9a-f]{12}/, "");
    const b = renderReport([dense(", expert_moments: bf16")], { format: "table", depth: 9, color: false }).replace(/spec [0-9a-f]{12}/, "");
    expect(b).toBe(a);
  });

  it("memory budgets are checked against the bf16-moment figure", () => {
    // Between the two totals: over with fp32 moments, within with bf16 ones.
    const limit = (fp32.train!.peakMemory.fp32.total - 2 * elements) / 2 ** 20;
    const budget = `memory(train, fp32) <= ${limit.toFixed(3)} MiB on cpu`;
    const result = (extra: string) => {
      const ir = tiny(extra, budget);
      return budgetResults(ir, costModel(ir)).find((r) => r.budget.metric === "memory_train")!;
    };
    expect(result("").ok).toBe(false);
    expect(result(", expert_moments: bf16").ok).toBe(true);
    expect(result(", expert_moments: bf16").value).toBe(bf16.train!.peakMemory.fp32.total);
  });
});
