/** The totals block shared by the table and markdown renderers: label/value lines. */
import type { ModelCost } from "../cost/types.js";
import { budgetResults, formatLimit, formatMetric } from "../budget/evaluate.js";
import { formatBytes, formatCount, formatFlops, formatInt, formatSeconds } from "./units.js";
import { atFlopsBudget } from "./sweep.js";

/** "7.49 B tokens (train 801 kFLOP/token), 14,628,571 steps of 512 tokens". */
export function flopsBudgetText(cost: ModelCost, flops: number): string {
  const at = atFlopsBudget(cost, flops);
  const tokens = `${formatCount(at.tokens)} tokens (${formatInt(at.tokens)}; train ${formatFlops(cost.totals.flopsPerToken.train)}/token)`;
  if (at.steps === null) return `${tokens}; steps need a train section (tokens per step)`;
  return `${tokens}, ${formatInt(at.steps)} step${at.steps === 1 ? "" : "s"} of ${formatInt(at.tokensPerStep!)} tokens`;
}

export interface SummaryLine {
  readonly label: string;
  readonly value: string;
}

export function summaryLines(cost: ModelCost, flopsBudget?: number): SummaryLine[] {
  const t = cost.totals;
  const lines: SummaryLine[] = [
    { label: "params", value: `${formatCount(t.params)} (${formatInt(t.params)})` + (t.buffers > 0n ? `, buffers ${formatInt(t.buffers)}` : "") },
    { label: "active params / token", value: `${formatCount(t.activeParams)} (${formatInt(t.activeParams)})` },
    {
      label: "FLOPs / token",
      value: `forward ${formatFlops(t.flopsPerToken.forward)} (matrix ${formatFlops(t.forward.matrix)} = ${formatCount(t.macs)} MACs, elementwise ${formatFlops(t.forward.elementwise)}), backward ${formatFlops(t.flopsPerToken.backward)}, train ${formatFlops(t.flopsPerToken.train)}`,
    },
    {
      label: "weights",
      value: `${formatBytes(t.weightBytes.fp32)} fp32, ${formatBytes(t.weightBytes.bf16)} bf16`,
    },
    {
      label: "traffic / token",
      value: `${formatBytes(t.trafficBytesPerToken.bf16)} bf16 at ${formatInt(cost.tokensPerPass)} tokens/pass (intensity ${t.arithmeticIntensity.bf16.toFixed(1)} FLOP/B)`,
    },
  ];
  const tr = cost.train;
  if (tr) {
    lines.push({
      label: "train",
      value: `${formatInt(tr.tokensPerStep)} tokens/step (${tr.passesPerStep} pass${tr.passesPerStep === 1 ? "" : "es"}), ${formatFlops(tr.flopsPerStep)}/step, ${formatInt(tr.steps)} step${tr.steps === 1 ? "" : "s"} (from ${tr.stepsFrom}), ${formatCount(tr.tokens)} tokens, ${formatFlops(tr.totalFlops)} total`,
    });
    // Said only where it changes a figure: a bf16-moment spec with expert tables.
    const bf16Moments = cost.layers.some((l) => l.expertMoments === "bf16" && l.sparseTables.length > 0) ? " (expert tables' moments bf16)" : "";
    for (const p of ["fp32", "bf16"] as const) {
      const m = tr.peakMemory[p];
      lines.push({
        label: `peak memory ${p}`,
        value: `${formatBytes(m.total)} = weights ${formatBytes(m.weights)} + grads ${formatBytes(m.grads)} + AdamW ${formatBytes(m.optimizer)}${bf16Moments} + activations ${formatBytes(m.activations)}` + (m.buffers > 0 ? ` + buffers ${formatBytes(m.buffers)}` : ""),
      });
    }
  }
  if (flopsBudget !== undefined) lines.push({ label: `at ${formatFlops(flopsBudget)}`, value: flopsBudgetText(cost, flopsBudget) });
  for (const r of cost.roofline) {
    const memoryBound = r.layers.filter((l) => l.bound === "memory").length;
    lines.push({
      label: `roofline ${r.target}`,
      value: `${formatSeconds(r.stepSeconds)}/step` + (r.trainSeconds !== null ? `, ${formatSeconds(r.trainSeconds)} for the run` : "") + ` (${memoryBound}/${r.layers.length} layers memory-bound, ${r.precision})`,
    });
  }
  return lines;
}

export function budgetLines(cost: ModelCost): { ok: boolean; text: string }[] {
  return budgetResults(cost.model, cost).map((r) => {
    const b = r.budget;
    const value = r.value === null ? "n/a" : formatMetric(b.metric, r.value, b.unit);
    return { ok: r.ok, text: `${b.metric} ${value} ${b.op} ${formatLimit(b)}` + (b.target ? ` on ${b.target}` : "") };
  });
}
