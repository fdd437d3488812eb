/**
 * The CI gate: each budget of a model compared with its cost. A broken budget
 * is an error at the budget line naming the value, the limit, by how much,
 * the three layers that contribute most, and what to change.
 */
import type { BudgetMetric, IRBudget, IRModel } from "../../ir/types.js";
import type { ModelCost } from "../cost/types.js";
import { diagnostic, type Diagnostic } from "../../diagnostics/diagnostic.js";
import { formatBytes, formatCount, formatFlops, formatInUnit, formatSeconds, unitScale } from "../report/units.js";
import { BUDGET_EXCEEDED, BUDGET_NEEDS_TRAIN, BUDGET_NOT_EQUAL, BUDGET_TARGET_UNKNOWN, BUDGET_UNDER_MINIMUM } from "../../diagnostics/codes/budget.js";
import { holds, METRIC_DIMENSION, metricValue } from "./metrics.js";
import { kindOf } from "../../kinds/index.js";

/** Whole percent for messages ("by 9%", "(40%)"); below 1% says so. */
function percent(fraction: number): string {
  const p = Math.round(fraction * 100);
  return p === 0 && fraction > 0 ? "<1%" : `${p}%`;
}

/**
 * How far a value is from its limit, in words a reader can weigh: "by 9%"
 * up to 10×, then a factor ("33,000× the limit"); a value of 0 against a
 * positive minimum is "100%" below it.
 */
export function distance(value: number, limit: number): string {
  if (limit === 0 || !Number.isFinite(value) || !Number.isFinite(limit)) return "";
  const ratio = value / limit;
  if (ratio >= 10) return ` (${factor(ratio)} the limit)`;
  if (ratio > 0 && ratio <= 0.1) return ` (${factor(1 / ratio)} below it)`;
  return ` by ${percent(Math.abs(value - limit) / Math.abs(limit))}`;
}

/** 10.4×, 330×, 33,000×: three significant digits, thousands separated. */
function factor(x: number): string {
  const digits = Math.max(0, 2 - Math.floor(Math.log10(x)));
  const rounded = Number(x.toPrecision(3));
  return `${rounded.toLocaleString("en-US", { maximumFractionDigits: digits })}×`;
}

/** "1 step", "2 steps". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export interface BudgetResult {
  readonly budget: IRBudget;
  /** null when the metric cannot be computed for this model (see `diagnostic`). */
  readonly value: number | null;
  readonly ok: boolean;
  readonly diagnostic: Diagnostic | null;
}

/** A figure in the budget's own unit when it has one ("1.2 GFLOP", "10M"), else humanised by metric. */
export function formatMetric(metric: BudgetMetric, value: number, unit: string | null): string {
  if (unit !== null && readableInUnit(value, unit)) {
    const inUnit = formatInUnit(value, unit);
    if (inUnit !== null) return inUnit;
  }
  switch (METRIC_DIMENSION[metric]) {
    case "count":
      // Written like a spec literal: "10M", not "10 M".
      return formatCount(value).replace(" ", "");
    case "flops":
      return formatFlops(value);
    case "bytes":
      return formatBytes(value);
    case "seconds":
      return formatSeconds(value);
  }
}

/** A budget's limit as the user wrote it ("1000M", "80 GiB"); a bare unit word ("params") is humanised. */
export function formatLimit(budget: IRBudget): string {
  const { metric, limit, unit } = budget;
  if (unit !== null && meaningfulUnit(unit)) {
    const inUnit = formatInUnit(limit, unit);
    if (inUnit !== null) return inUnit;
  }
  return formatMetric(metric, limit, null);
}

/** A unit with a prefix or a time unit; "params", "FLOP", "bytes" alone say nothing a humanised figure does not. */
function meaningfulUnit(unit: string): boolean {
  const scale = unitScale(unit);
  if (scale === null) return false;
  return scale !== 1 || /^(s|ms|us|µs|ns|min|h|d|days)$/.test(unit.trim());
}

/**
 * The user's unit is kept when it says something (a prefix, or a time unit)
 * and the figure reads well in it (0.1 to 999); a bare word ("params",
 * "FLOP") or a figure far from the unit ("1023 us", "0.0064 ms") is
 * humanised instead ("98.6K", "1.02 ms", "6.4 µs").
 */
function readableInUnit(value: number, unit: string): boolean {
  const scale = unitScale(unit);
  if (scale === null || !meaningfulUnit(unit)) return false;
  if (value === 0) return true;
  const inUnit = Math.abs(value / scale);
  return inUnit >= 0.1 && Number(inUnit.toPrecision(3)) < 1000;
}

function describe(b: IRBudget): string {
  const parts: string[] = [b.metric];
  if (b.metric.startsWith("memory") || b.metric === "bytes_per_token") parts.push(`(${b.precision})`);
  if (b.target !== null) parts.push(`on ${b.target}`);
  return parts.join(" ");
}

/** What to change, from the metric and the largest contributor's kind. */
function helpFor(metric: BudgetMetric, cost: ModelCost, topPath: string | undefined): string {
  const layer = cost.layers.find((l) => l.path === topPath);
  const where = layer ? ` in \`${layer.path}\`` : "";
  const help = layer ? kindOf(layer).budgetHelp : undefined;
  const countish = metric === "params" || metric.startsWith("memory");
  if (countish && help?.size) return help.size(where);
  if (metric === "memory_train") return "lower the micro-batch (activations scale with it), train in bf16, or raise the limit";
  if (help?.compute) return help.compute(where);
  return "change the largest layers listed above, or raise the limit";
}

export function evaluateBudget(model: IRModel, cost: ModelCost, budget: IRBudget): BudgetResult {
  const measured = metricValue(cost, budget);
  const limitLabel = [{ span: budget.limitSpan, message: `limit: ${formatLimit(budget)}` }];
  if (!measured.ok) {
    const d =
      measured.reason === "needs_train"
        ? diagnostic({
            code: BUDGET_NEEDS_TRAIN,
            message: `${budget.metric} needs a train section for model '${model.name}'`,
            span: budget.metricSpan,
            label: "needs the steps, tokens or FLOPs of training",
            help: `add \`train ${model.baseName} { batch …; steps … }\`, or budget train_flops_per_token instead`,
          })
        : diagnostic({
            code: BUDGET_TARGET_UNKNOWN,
            message: `${budget.metric} on ${budget.target ?? "h100"} cannot be estimated: the target's peak is unknown`,
            span: budget.span,
            label: "no peak FLOP/s for this target",
            help: "pass --cpu-peak <flops> (and --cpu-bandwidth <bytes/s>) to `peerc report`",
          });
    return { budget, value: null, ok: false, diagnostic: d };
  }
  const { value } = measured;
  if (holds(budget.op, value, budget.limit)) return { budget, value, ok: true, diagnostic: null };

  const show = (v: number) => formatMetric(budget.metric, v, budget.unit);
  const over = budget.limit !== 0 ? Math.abs(value - budget.limit) / budget.limit : Infinity;
  const upper = budget.op === "<=" || budget.op === "<";
  const lower = budget.op === ">=" || budget.op === ">";
  const relation = upper ? "over the budget of" : lower ? "under the minimum of" : "not equal to the required";
  const code = upper ? BUDGET_EXCEEDED : lower ? BUDGET_UNDER_MINIMUM : BUDGET_NOT_EQUAL;
  const by = Number.isFinite(over) ? distance(value, budget.limit) : "";

  const top = [...measured.layers].filter((l) => l.value > 0).sort((a, b) => b.value - a.value).slice(0, 3);
  const notes = top.map((l) => `${l.path}: ${show(l.value)} (${percent(value > 0 ? l.value / value : 0)})`);
  if (notes.length > 0) notes.unshift(`largest contributors to ${budget.metric}:`);

  return {
    budget,
    value,
    ok: false,
    diagnostic: diagnostic({
      code,
      message: `${describe(budget)} is ${show(value)}, ${relation} ${formatLimit(budget)}${by}`,
      span: budget.span,
      label: `${budget.metric} of '${model.name}' is ${show(value)}`,
      labels: limitLabel,
      notes,
      help: upper
        ? helpFor(budget.metric, cost, top[0]?.path)
        : lower
          ? "the figure must not shrink below its minimum; check what removed it, or lower the minimum"
          : value > budget.limit
            ? `${budget.metric} must be exactly ${formatLimit(budget)} and is larger: shrink the largest contributors listed above, or change the required value`
            : `${budget.metric} must be exactly ${formatLimit(budget)} and is smaller: check what removed it, or change the required value`,
    }),
  };
}

export function budgetResults(model: IRModel, cost: ModelCost): BudgetResult[] {
  return model.budgets.map((b) => evaluateBudget(model, cost, b));
}

export function evaluateBudgets(model: IRModel, cost: ModelCost): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const r of budgetResults(model, cost)) if (r.diagnostic) out.push(r.diagnostic);
  return out;
}
