/** The value of each budget metric for a model, and each layer's share of it. */
import type { BudgetMetric, IRBudget } from "../../ir/types.js";
import type { ModelCost, Precision } from "../cost/types.js";
import { layerTrainMemory } from "../cost/memory.js";
import { ELEMENT_BYTES } from "../cost/conventions.js";

export type MetricValue =
  | { readonly ok: true; readonly value: number; readonly layers: readonly { readonly path: string; readonly value: number }[] }
  | { readonly ok: false; readonly reason: "needs_train" | "no_target" };

export type Dimension = "count" | "flops" | "bytes" | "seconds";

export const METRIC_DIMENSION: Readonly<Record<BudgetMetric, Dimension>> = {
  params: "count",
  active_params: "count",
  flops_per_token: "flops",
  train_flops_per_token: "flops",
  train_flops: "flops",
  memory_train: "bytes",
  memory_weights: "bytes",
  bytes_per_token: "bytes",
  step_time: "seconds",
};

export function metricValue(cost: ModelCost, budget: IRBudget): MetricValue {
  const precision: Precision = budget.precision;
  const layers = cost.layers;
  const per = (f: (l: (typeof layers)[number]) => number) => layers.map((l) => ({ path: l.path, value: f(l) }));
  const fwd = (l: (typeof layers)[number]) => l.forward.matrix + l.forward.elementwise;
  const train = (l: (typeof layers)[number]) => fwd(l) + l.backward.matrix + l.backward.elementwise;
  const sum = (rows: readonly { value: number }[]) => rows.reduce((s, r) => s + r.value, 0);
  const withSum = (rows: { path: string; value: number }[], total?: number): MetricValue => ({ ok: true, value: total ?? sum(rows), layers: rows });

  switch (budget.metric) {
    case "params":
      return withSum(per((l) => Number(l.params)), Number(cost.totals.params));
    case "active_params":
      return withSum(per((l) => Number(l.activeParams)), Number(cost.totals.activeParams));
    case "flops_per_token":
      return withSum(per(fwd));
    case "train_flops_per_token":
      return withSum(per(train));
    case "train_flops": {
      if (!cost.train) return { ok: false, reason: "needs_train" };
      const tokens = cost.train.tokens;
      return withSum(per((l) => train(l) * tokens), cost.train.totalFlops);
    }
    case "memory_train": {
      const tokensPerStep = cost.train ? cost.train.tokensPerStep : cost.tokensPerPass;
      return withSum(per((l) => layerTrainMemory(l, precision, tokensPerStep, cost.tokensPerPass).total));
    }
    case "memory_weights":
      return withSum(per((l) => ELEMENT_BYTES[precision] * Number(l.params)));
    case "bytes_per_token":
      return withSum(per((l) => cost.layerTraffic.get(l.path)?.[precision] ?? 0), cost.totals.trafficBytesPerToken[precision]);
    case "step_time": {
      const estimate = cost.roofline.find((r) => r.target === (budget.target ?? "h100"));
      if (!estimate) return { ok: false, reason: "no_target" };
      return withSum(estimate.layers.map((r) => ({ path: r.path, value: r.seconds })), estimate.stepSeconds);
    }
  }
}

export function holds(op: IRBudget["op"], value: number, limit: number): boolean {
  switch (op) {
    case "<=":
      return value <= limit;
    case "<":
      return value < limit;
    case ">=":
      return value >= limit;
    case ">":
      return value > limit;
    case "==":
      return value === limit;
  }
}
