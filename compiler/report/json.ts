/** ModelCost → the `peerc.report/v1` document (see schema.ts). */
import type { Span } from "../../diagnostics/source.js";
import type { LayerCost, MemoryBytes, ModelCost } from "../cost/types.js";
import { CONVENTIONS } from "../cost/conventions.js";
import { activationBytesPerToken, layerTrainMemory } from "../cost/memory.js";
import { budgetResults } from "../budget/evaluate.js";
import type { LayerJson, ModelJson, ReportJson } from "./schema.js";
import { atFlopsBudget } from "./sweep.js";

export interface JsonOptions {
  /** `--flops-budget`: each model gets `flops_budget` (tokens and steps it buys). */
  readonly flopsBudget?: number;
}

/** Exact count as a JSON number; a count past 2^53 would silently round, so it is refused. */
export function safeCount(n: bigint, what: string): number {
  if (n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`internal error: ${what} = ${n} does not fit a JSON number exactly`);
  }
  return Number(n);
}

function counts(parts: Readonly<Record<string, bigint>>, what: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(parts)) out[k] = safeCount(v, `${what}.${k}`);
  return out;
}

function spanJson(s: Span) {
  return { file: s.file, line: s.line, column: s.column, endLine: s.endLine, endColumn: s.endColumn };
}

const memoryJson = (m: MemoryBytes) => ({ ...m });

function layerJson(cost: ModelCost, l: LayerCost, tokensPerStep: number): LayerJson {
  const traffic = cost.layerTraffic.get(l.path) ?? { fp32: 0, bf16: 0 };
  const fwd = l.forward.matrix + l.forward.elementwise;
  return {
    path: l.path,
    kind: l.kind,
    index: l.index,
    args: { ...l.args },
    span: spanJson(l.span),
    params: safeCount(l.params, `${l.path}.params`),
    active_params: safeCount(l.activeParams, `${l.path}.active_params`),
    buffers: safeCount(l.buffers, `${l.path}.buffers`),
    params_breakdown: counts(l.paramsBreakdown, l.path),
    buffers_breakdown: counts(l.buffersBreakdown, l.path),
    flops_per_token: { forward: fwd, backward: l.backward.matrix + l.backward.elementwise },
    flops_breakdown: { matrix: l.forward.matrix, elementwise: l.forward.elementwise, macs: l.macs },
    flops_terms: l.terms.map((t) => ({ name: t.name, matrix: t.matrix, elementwise: t.elementwise })),
    memory_bytes: {
      activations_per_token: { fp32: activationBytesPerToken(l, "fp32"), bf16: activationBytesPerToken(l, "bf16") },
      train: {
        fp32: memoryJson(layerTrainMemory(l, "fp32", tokensPerStep, cost.tokensPerPass)),
        bf16: memoryJson(layerTrainMemory(l, "bf16", tokensPerStep, cost.tokensPerPass)),
      },
    },
    traffic_bytes_per_token: { ...traffic },
    arithmetic_intensity: {
      fp32: traffic.fp32 > 0 ? fwd / traffic.fp32 : 0,
      bf16: traffic.bf16 > 0 ? fwd / traffic.bf16 : 0,
    },
    selection: {
      topk_candidates: l.nonFlop.topkCandidates,
      gathered_rows: l.nonFlop.gatheredRows,
      gathered_row_width: l.nonFlop.gatheredRowWidth,
    },
    roofline: cost.roofline.map((r) => {
      const row = r.layers[l.index]!;
      return { target: r.target, seconds: row.seconds, bound: row.bound };
    }),
  };
}

export function modelJson(cost: ModelCost, opts: JsonOptions = {}): ModelJson {
  const m = cost.model;
  const t = cost.totals;
  const tokensPerStep = cost.train ? cost.train.tokensPerStep : cost.tokensPerPass;
  return {
    name: m.name,
    base_name: m.baseName,
    file: m.file,
    hash: m.hash,
    sweep: m.sweep ? m.sweep.map((s) => ({ name: s.name, value: s.value })) : null,
    totals: {
      params: safeCount(t.params, "params"),
      active_params: safeCount(t.activeParams, "active_params"),
      buffers: safeCount(t.buffers, "buffers"),
      flops_per_token: { ...t.flopsPerToken },
      flops_breakdown: { matrix: t.forward.matrix, elementwise: t.forward.elementwise, macs: t.macs },
      memory_bytes: { weights: { ...t.weightBytes } },
      traffic_bytes_per_token: { ...t.trafficBytesPerToken },
      arithmetic_intensity: { ...t.arithmeticIntensity },
      tokens_per_pass: cost.tokensPerPass,
      train: cost.train
        ? {
            tokens_per_step: cost.train.tokensPerStep,
            tokens_per_pass: cost.train.tokensPerPass,
            passes_per_step: cost.train.passesPerStep,
            flops_per_step: cost.train.flopsPerStep,
            steps: cost.train.steps,
            steps_from: cost.train.stepsFrom,
            tokens: cost.train.tokens,
            total_flops: cost.train.totalFlops,
            peak_memory_bytes: { fp32: memoryJson(cost.train.peakMemory.fp32), bf16: memoryJson(cost.train.peakMemory.bf16) },
          }
        : null,
      roofline: cost.roofline.map((r) => ({
        target: r.target,
        precision: r.precision,
        peak_flops: r.peakFlops,
        bandwidth: Number.isFinite(r.bandwidth) ? r.bandwidth : null,
        step_seconds: r.stepSeconds,
        train_seconds: r.trainSeconds,
        optimizer_seconds: r.optimizerSeconds,
        compute_bound_layers: r.layers.filter((x) => x.bound === "compute").length,
        memory_bound_layers: r.layers.filter((x) => x.bound === "memory").length,
      })),
      conventions: [...CONVENTIONS],
    },
    budgets: budgetResults(m, cost).map((r) => ({
      metric: r.budget.metric,
      op: r.budget.op,
      limit: r.budget.limit,
      unit: r.budget.unit,
      precision: r.budget.precision,
      target: r.budget.target,
      value: r.value,
      ok: r.ok,
      message: r.diagnostic ? r.diagnostic.message : null,
      span: spanJson(r.budget.span),
    })),
    layers: cost.layers.map((l) => layerJson(cost, l, tokensPerStep)),
    ...(opts.flopsBudget !== undefined ? { flops_budget: flopsBudgetJson(cost, opts.flopsBudget) } : {}),
  };
}

function flopsBudgetJson(cost: ModelCost, flops: number): NonNullable<ModelJson["flops_budget"]> {
  const at = atFlopsBudget(cost, flops);
  return { flops: at.flops, tokens: at.tokens, tokens_per_step: at.tokensPerStep, steps: at.steps };
}

export function reportJson(costs: readonly ModelCost[], opts: JsonOptions = {}): ReportJson {
  return { schema: "peerc.report/v1", models: costs.map((c) => modelJson(c, opts)) };
}

export function renderJson(costs: readonly ModelCost[], opts: JsonOptions = {}): string {
  return JSON.stringify(reportJson(costs, opts), null, 2) + "\n";
}
