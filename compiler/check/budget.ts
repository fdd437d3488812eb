/** `budget M { metric(qualifiers) op limit unit on target }` → IRBudget, limits in base units. */
import type { BudgetDecl, BudgetItem } from "../../grammar/ast.js";
import type { BudgetMetric, IRBudget } from "../../ir/types.js";
import type { Run } from "./evaluate.js";
import type { Scope } from "./scope.js";
import { didYouMean, nearest } from "./suggest.js";
import { show, toNumber } from "./values.js";

type Family = "count" | "flops" | "bytes" | "time";

const METRICS: Record<string, { family: Family; metric?: BudgetMetric }> = {
  params: { family: "count", metric: "params" },
  active_params: { family: "count", metric: "active_params" },
  flops_per_token: { family: "flops", metric: "flops_per_token" },
  train_flops_per_token: { family: "flops", metric: "train_flops_per_token" },
  train_flops: { family: "flops", metric: "train_flops" },
  memory: { family: "bytes" },
  bytes_per_token: { family: "bytes", metric: "bytes_per_token" },
  step_time: { family: "time", metric: "step_time" },
};

const UNITS: Record<Family, Record<string, number>> = {
  count: { params: 1 },
  flops: { FLOP: 1, KFLOP: 1e3, MFLOP: 1e6, GFLOP: 1e9, TFLOP: 1e12, PFLOP: 1e15, EFLOP: 1e18 },
  bytes: { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 },
  time: { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, min: 60, h: 3600 },
};

const FAMILY_NAMES: Record<Family, string> = { count: "parameters", flops: "FLOPs", bytes: "bytes", time: "time" };

const TARGETS = ["h100", "a100", "cpu"] as const;

function unitFactor(unit: string): { family: Family; factor: number } | null {
  // "FLOPs", "GFLOPs" are accepted spellings of the FLOP units.
  const name = /FLOPs$/.test(unit) ? unit.slice(0, -1) : unit;
  for (const family of Object.keys(UNITS) as Family[]) {
    const factor = UNITS[family][name];
    if (factor !== undefined) return { family, factor };
  }
  return null;
}

export function checkBudget(decl: BudgetDecl, scope: Scope, run: Run): IRBudget[] | null {
  const out: IRBudget[] = [];
  let ok = true;
  for (const item of decl.items) {
    const budget = checkItem(item, scope, run);
    if (budget) out.push(budget);
    else ok = false;
  }
  return ok ? out : null;
}

function checkItem(item: BudgetItem, scope: Scope, run: Run): IRBudget | null {
  const reporter = run.reporter;
  const name = item.metric.name;
  const info = METRICS[name];
  if (!info) {
    reporter.report({
      code: "E0508",
      message: `unknown budget metric \`${name}\``,
      span: item.metric.span,
      label: "not a metric",
      help: didYouMean(name, Object.keys(METRICS), "metrics are"),
    });
    return null;
  }
  let metric = info.metric;
  let precision: IRBudget["precision"] = "fp32";
  for (const q of item.qualifiers) {
    const word = q.name;
    if (name === "memory" && (word === "train" || word === "weights") && !metric) metric = word === "train" ? "memory_train" : "memory_weights";
    else if ((name === "memory" || name === "bytes_per_token" || name === "step_time") && (word === "fp32" || word === "bf16")) precision = word;
    else {
      const allowed = name === "memory" ? ["train", "weights", "fp32", "bf16"] : name === "bytes_per_token" || name === "step_time" ? ["fp32", "bf16"] : [];
      reporter.report({
        code: "E0512",
        message: `\`${name}\` does not take \`${word}\``,
        span: q.span,
        label: "unknown qualifier",
        help: allowed.length ? didYouMean(word, allowed, "it takes") : `\`${name}\` takes no qualifiers`,
      });
      return null;
    }
  }
  if (!metric) {
    reporter.report({
      code: "E0512",
      message: "`memory` needs to say which: `memory(train)` or `memory(weights)`",
      span: item.metric.span,
      label: "train or weights?",
      help: "write `memory(train)` for weights + gradients + optimizer state + activations, `memory(weights)` for weights only",
    });
    return null;
  }
  const value = run.eval(item.limit, scope, name);
  if (value.t === "error") return null;
  const number = value.t === "percent" ? null : toNumber(value);
  if (number === null || !(number >= 0)) {
    reporter.report({
      code: "E0206",
      message: `a budget limit must be a number, found ${show(value)}`,
      span: item.limit.span,
      label: value.t === "percent" ? "a percentage" : `a ${value.t}`,
      help: "write e.g. `params <= 200M`",
    });
    return null;
  }
  let factor = 1;
  if (item.unit) {
    const unit = unitFactor(item.unit.name);
    const family = info.family;
    if (!unit || unit.family !== family) {
      const allowed = Object.keys(UNITS[family]);
      const guess = nearest(item.unit.name, allowed);
      reporter.report({
        code: "E0509",
        message: unit
          ? `\`${item.unit.name}\` measures ${FAMILY_NAMES[unit.family]}, but \`${name}\` is measured in ${FAMILY_NAMES[family]}`
          : `unknown unit \`${item.unit.name}\``,
        span: item.unit.span,
        label: unit ? `a unit of ${FAMILY_NAMES[unit.family]}` : "not a unit",
        help: `${guess ? `did you mean \`${guess}\`? ` : ""}units for \`${name}\`: ${allowed.map((u) => `\`${u}\``).join(", ")}${family === "count" ? " (or none: `200M`)" : ""}`,
      });
      return null;
    }
    factor = unit.factor;
  }
  let target: IRBudget["target"] = null;
  if (item.target) {
    const t = item.target.name;
    if (!(TARGETS as readonly string[]).includes(t)) {
      reporter.report({
        code: "E0510",
        message: `unknown hardware target \`${t}\``,
        span: item.target.span,
        label: "not a known target",
        help: didYouMean(t, TARGETS, "targets are"),
      });
      return null;
    }
    target = t as IRBudget["target"];
  } else if (metric === "step_time") {
    reporter.report({
      code: "E0510",
      message: "`step_time` needs a hardware target",
      span: item.span,
      label: "on which machine?",
      help: `add \`on h100\`, \`on a100\` or \`on cpu\``,
    });
    return null;
  }
  return {
    span: item.span,
    metricSpan: item.metric.span,
    limitSpan: item.limit.span,
    metric,
    op: item.op,
    limit: number * factor,
    unit: item.unit?.name ?? null,
    target,
    precision,
  };
}
