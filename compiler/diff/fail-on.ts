/**
 * `peerc diff --fail-on RULE`: limits on what a change may do to a figure,
 * so a pull request that grows a model past them fails CI (exit 1).
 *
 *   params>+5%            the relative change is over +5%
 *   flops_per_token>=+1M  the absolute change is at least +1M (FLOPs)
 *   params<-10%           shrinks by more than 10%
 *   params>12M            the new value is over 12M (no sign: the value itself)
 *
 * A figure is a total of `peerc diff` (params, active_params,
 * flops_per_token.forward, …) or a budget metric's name for it
 * (flops_per_token, train_flops, memory_weights, step_time).
 */
import { UsageError } from "../../diagnostics/errors.js";
import { unitScale } from "../report/units.js";
import { relative, show, signed, TOTAL_FIGURES, type FailOnResult, type ModelDelta, type Unit } from "./index.js";

export type { FailOnResult };

export type FailOp = ">" | ">=" | "<" | "<=";

export interface FailOnRule {
  /** As the user wrote it. */
  readonly text: string;
  readonly figure: string;
  readonly op: FailOp;
  /** relative: the change over the old value; delta: new − old; value: the new value. */
  readonly kind: "relative" | "delta" | "value";
  /** A fraction for relative rules (5% → 0.05), else in base units. */
  readonly threshold: number;
}


/** Budget metric names accepted for the totals they measure. */
const ALIASES: Readonly<Record<string, string>> = {
  flops_per_token: "flops_per_token.forward",
  train_flops_per_token: "flops_per_token.train",
  train_flops: "train.total_flops",
  memory_weights: "weights_bytes.fp32",
  "memory_train": "train.peak_memory.fp32",
  bytes_per_token: "traffic_bytes_per_token.bf16",
  step_time: "step_seconds.h100",
  steps: "train.steps",
};

const RULE = /^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(>=|<=|>|<)\s*([+\-−]?)\s*(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(%|[A-Za-zµ/]+)?\s*$/;

export function parseFailOn(text: string): FailOnRule {
  const m = RULE.exec(text);
  const example = "e.g. 'params>+5%', 'flops_per_token>+1M', 'params<-10%' or 'params>12M'";
  if (!m) throw new UsageError(`--fail-on '${text}' is not FIGURE OP LIMIT`, example);
  const name = m[1]!;
  const figure = ALIASES[name] ?? name;
  const known = TOTAL_FIGURES.map(([f]) => f);
  if (!known.includes(figure)) {
    throw new UsageError(`--fail-on '${text}': unknown figure '${name}'`, `figures: ${[...known, ...Object.keys(ALIASES)].join(", ")}`);
  }
  const op = m[2] as FailOp;
  const sign = m[3] === "" ? 0 : m[3] === "+" ? 1 : -1;
  const number = Number(m[4]);
  const unit = m[5] ?? null;
  if (unit === "%") {
    return { text, figure, op, kind: "relative", threshold: (sign === 0 ? 1 : sign) * (number / 100) };
  }
  let scale = 1;
  if (unit !== null) {
    const s = unitScale(unit);
    if (s === null) throw new UsageError(`--fail-on '${text}': unknown unit '${unit}'`, "use a suffix such as K, M, B, MFLOP, GiB, ms, or % for a relative change");
    scale = s;
  }
  if (sign === 0) return { text, figure, op, kind: "value", threshold: number * scale };
  return { text, figure, op, kind: "delta", threshold: sign * number * scale };
}

function compare(op: FailOp, value: number, limit: number): boolean {
  switch (op) {
    case ">":
      return value > limit;
    case ">=":
      return value >= limit;
    case "<":
      return value < limit;
    case "<=":
      return value <= limit;
  }
}

/** Each rule on each model present on both sides (a value rule also on added models). */
export function evaluateFailOn(models: readonly ModelDelta[], rules: readonly FailOnRule[]): FailOnResult[] {
  const out: FailOnResult[] = [];
  for (const rule of rules) {
    for (const m of models) {
      if (m.status === "removed") continue;
      if (m.status === "added" && rule.kind !== "value") continue;
      const f = m.totals.find((t) => t.figure === rule.figure)!;
      const observed = observe(rule, f);
      const failed = observed !== null && compare(rule.op, observed, rule.threshold);
      out.push({ rule: rule.text, model: m.name, figure: rule.figure, kind: rule.kind, observed, failed, text: describe(rule, m, f.unit, f, observed, failed) });
    }
  }
  return out;
}

function observe(rule: FailOnRule, f: ModelDelta["totals"][number]): number | null {
  switch (rule.kind) {
    case "value":
      return f.after;
    case "delta":
      return f.delta;
    case "relative":
      if (f.relative !== null) return f.relative;
      // Grown from 0: an unbounded relative change; unchanged 0 is no change.
      if (f.delta === null) return null;
      return f.delta === 0 ? 0 : f.delta > 0 ? Infinity : -Infinity;
  }
}

function describe(rule: FailOnRule, m: ModelDelta, unit: Unit, f: ModelDelta["totals"][number], observed: number | null, failed: boolean): string {
  const where = `model ${m.name}: ${rule.figure}`;
  const quoted = `--fail-on '${rule.text}'`;
  if (observed === null) return `${where} is not in both reports (${show(unit, f.before)} → ${show(unit, f.after)}); ${quoted} not evaluated`;
  const change = `${show(unit, f.before)} → ${show(unit, f.after)}`;
  const what =
    rule.kind === "value"
      ? `is ${show(unit, f.after)}`
      : rule.kind === "delta"
        ? `changed by ${signed(unit, f.delta)} (${change})`
        : `changed by ${Number.isFinite(observed) ? relative(observed) : "+∞%"} (${change})`;
  return `${where} ${what}: ${failed ? "breaks" : "within"} ${quoted}`;
}
