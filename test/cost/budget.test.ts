import { describe, expect, it } from "vitest";
import { costModel } from "../../compiler/cost/index.js";
import { evaluateBudgets } from "../../compiler/budget/evaluate.js";
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
    expect(memory!.message).toMatch(/^memory_train \(bf16\) on h100 is [\d.]+ MiB, over the budget of 1 MiB by/);
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
});
