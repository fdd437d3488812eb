import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { BUDGET_CATALOG, COST_INTERNAL } from "../../diagnostics/codes/budget.js";
import { costModel } from "../../compiler/cost/index.js";
import { evaluateBudgets, formatMetric } from "../../compiler/budget/evaluate.js";
import { budgetLines, summaryLines } from "../../compiler/report/summary.js";
import { budget, peer, smallLm, train } from "./ir-builder.js";

const withBudgets = (budgets: ReturnType<typeof budget>[], withTrain = true) =>
  smallLm({
    d: 128,
    ffn: (i, d) => (i === 1 ? peer({ dModel: d, experts: 256 ** 2, heads: 4, topk: 8, keyDim: 64, path: "x" }) : { ...smallLm().layers[4]!, dModel: d, hidden: 4 * d } as never),
    train: withTrain ? train({ batch: 4, context: 128 }) : null,
    budgets,
  });

describe("evaluateBudgets", () => {
  it("passes budgets that hold", () => {
    const m = withBudgets([budget({ metric: "params", limit: 1e9 }), budget({ metric: "active_params", op: ">=", limit: 1 })]);
    expect(evaluateBudgets(m, costModel(m))).toEqual([]);
  });

  it("reports a broken budget at its span with value, limit, excess, top-3 layers and help", () => {
    const b = budget({ metric: "params", limit: 10e6, unit: "M" }, 20);
    const m = withBudgets([b]);
    const cost = costModel(m);
    const [d, ...rest] = evaluateBudgets(m, cost);
    expect(rest).toEqual([]);
    const params = Number(cost.totals.params);
    const over = Math.round(((params - 10e6) / 10e6) * 100);
    expect(d!.code).toBe("E0601");
    expect(d!.severity).toBe("error");
    expect(d!.span).toEqual(b.span);
    expect(d!.labels[0]!.span).toEqual(b.limitSpan);
    expect(d!.message).toBe(`params is ${(params / 1e6).toFixed(1)}M, over the budget of 10M by ${over}%`);
    // the PEER layer is the largest contributor, with its share
    const peerLayer = cost.layers.find((l) => l.kind === "peer")!;
    const share = Number(peerLayer.params) / params;
    expect(d!.notes[1]).toBe(`${peerLayer.path}: ${(Number(peerLayer.params) / 1e6).toFixed(1)}M (${Math.round(share * 100)}%)`);
    expect(d!.notes).toHaveLength(4); // heading + three layers
    expect(d!.help).toMatch(/fewer experts in `blocks\.1\.ffw\.peer`/);
  });

  it("names the value in the budget's unit for FLOPs and memory", () => {
    const m = withBudgets([
      budget({ metric: "flops_per_token", limit: 1e5, unit: "MFLOP" }),
      budget({ metric: "memory_train", limit: 2 ** 20, unit: "MiB", precision: "bf16", target: "h100" }),
    ]);
    const cost = costModel(m);
    const [flops, memory] = evaluateBudgets(m, cost);
    expect(flops!.message).toMatch(/^flops_per_token is [\d.]+ MFLOP, over the budget of 0.1 MFLOP by \d+%$/);
    expect(memory!.message).toMatch(/^memory_train \(bf16\) on h100 is [\d.]+ MiB, over the budget of 1 MiB (by \d+%|\(\d+× the limit\))$/);
    expect(memory!.message).toContain(String(+((cost.train!.peakMemory.bf16.total) / 2 ** 20).toPrecision(3)));
  });

  it("lower bounds and equality have their own codes", () => {
    const m = withBudgets([budget({ metric: "params", op: ">=", limit: 1e12 }), budget({ metric: "params", op: "==", limit: 5 })]);
    expect(evaluateBudgets(m, costModel(m)).map((d) => d.code)).toEqual(["E0602", "E0603"]);
  });

  it("a train metric without a train section is an error, not a zero", () => {
    const m = withBudgets([budget({ metric: "train_flops", limit: 1e30 })], false);
    const [d] = evaluateBudgets(m, costModel(m));
    expect(d!.code).toBe("E0604");
    expect(d!.message).toMatch(/needs a train section/);
  });

  it("step time on the cpu needs its peak", () => {
    const m = withBudgets([budget({ metric: "step_time", limit: 1, target: "cpu" })]);
    expect(evaluateBudgets(m, costModel(m)).map((d) => d.code)).toEqual(["E0605"]);
    expect(evaluateBudgets(m, costModel(m, { cpuPeakFlops: 1e15, cpuBandwidth: 1e15 }))).toEqual([]);
  });

  // Issue 14, bug 7: the messages of a broken budget.
  it("an `==` budget that is too large says so, not that it must not shrink", () => {
    const m = withBudgets([budget({ metric: "params", op: "==", limit: 3 })]);
    const [d] = evaluateBudgets(m, costModel(m));
    expect(d!.code).toBe("E0603");
    expect(d!.help).not.toMatch(/shrink below|minimum/);
    expect(d!.help).toMatch(/^params must be exactly 3 and is larger/);
  });

  it("a value far from its limit is a factor, not a seven-digit percentage", () => {
    const m = withBudgets([budget({ metric: "params", op: "==", limit: 3 }), budget({ metric: "params", op: ">=", limit: 1e12 })]);
    const cost = costModel(m);
    const [eq, min] = evaluateBudgets(m, cost);
    const params = Number(cost.totals.params);
    expect(eq!.message).not.toMatch(/\d{4,}%/);
    expect(eq!.message).toContain(`(${Number((params / 3).toPrecision(3)).toLocaleString("en-US")}× the limit)`);
    expect(min!.message).toContain(`(${Number((1e12 / params).toPrecision(3)).toLocaleString("en-US", { maximumFractionDigits: 0 })}× below it)`);
  });

  it("a budget with a bare unit word reads humanised, not as raw digits", () => {
    const m = withBudgets([budget({ metric: "params", limit: 5e6, unit: "params" }), budget({ metric: "flops_per_token", limit: 10, unit: "FLOP" })]);
    const cost = costModel(m);
    const lines = budgetLines(cost).map((l) => l.text);
    expect(lines[0]).toBe(`params ${formatMetric("params", Number(cost.totals.params), null)} <= 5M`);
    expect(lines[0]).not.toMatch(/\d{5,}/);
    expect(lines[1]).not.toMatch(/\d{5,}/);
    expect(evaluateBudgets(m, cost)[1]!.message).not.toMatch(/\d{5,}/);
  });

  it("a time in the user's unit only when it reads well in it: 1023 us is 1.02 ms", () => {
    expect(formatMetric("step_time", 1.023e-3, "us")).toBe("1.02 ms");
    expect(formatMetric("step_time", 6.4e-6, "ms")).toBe("6.4 µs");
    expect(formatMetric("step_time", 6.4e-6, "us")).toBe("6.4 us");
    expect(formatMetric("params", 10e6, "M")).toBe("10M");
    expect(formatMetric("flops_per_token", 1e5, "MFLOP")).toBe("0.1 MFLOP");
  });

  it("one step is '1 step'", () => {
    const m = smallLm({ d: 64, train: train({ batch: 4, context: 128, horizon: { kind: "steps", steps: 1 } }) });
    const text = summaryLines(costModel(m)).find((l) => l.label === "train")!.value;
    expect(text).toMatch(/, 1 step \(from steps\)/);
  });

  it("every budget code has a golden failing example, so docs/diagnostics.md documents it", () => {
    const bad = fs.readdirSync(path.resolve(import.meta.dirname, "../fixtures/bad"));
    const missing = BUDGET_CATALOG.map((e) => e.code).filter((c) => c !== COST_INTERNAL && !bad.some((f) => f.startsWith(`${c}-`) && f.endsWith(".peer")));
    expect(missing).toEqual([]);
  });
});
