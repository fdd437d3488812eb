/** GitHub Actions workflow commands: one `::notice` per model with its totals and passing budgets. */
import type { ModelCost } from "../cost/types.js";
import { budgetLines, flopsBudgetText } from "./summary.js";
import { formatBytes, formatCount, formatFlops, formatSeconds } from "./units.js";

/** Workflow-command escaping: %, CR and LF in the message; also , and : in properties. */
function escapeData(s: string): string {
  return s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

export function renderGithub(costs: readonly ModelCost[], target: string, flopsBudget?: number): string {
  const out: string[] = [];
  for (const cost of costs) {
    const m = cost.model;
    const t = cost.totals;
    const parts = [
      `params ${formatCount(t.params)}`,
      `active ${formatCount(t.activeParams)}`,
      `forward ${formatFlops(t.flopsPerToken.forward)}/token`,
      `train ${formatFlops(t.flopsPerToken.train)}/token`,
    ];
    if (cost.train) {
      parts.push(`${formatFlops(cost.train.totalFlops)} over ${cost.train.steps} step${cost.train.steps === 1 ? "" : "s"}`);
      parts.push(`peak memory ${formatBytes(cost.train.peakMemory.bf16.total)} bf16 / ${formatBytes(cost.train.peakMemory.fp32.total)} fp32`);
    }
    const estimate = cost.roofline.find((r) => r.target === target);
    if (estimate) parts.push(`${formatSeconds(estimate.stepSeconds)}/step on ${target}`);
    else if (target === "cpu") parts.push("no cpu step time (pass --cpu-peak)");
    if (flopsBudget !== undefined) parts.push(`at ${formatFlops(flopsBudget)}: ${flopsBudgetText(cost, flopsBudget)}`);
    const passing = budgetLines(cost).filter((b) => b.ok);
    let message = parts.join(", ");
    if (passing.length > 0) message += "\n" + passing.map((b) => `✓ ${b.text}`).join("\n");
    const props = `file=${escapeProperty(m.file)},line=${m.span.line},title=${escapeProperty(`peerc report: ${m.name}`)}`;
    out.push(`::notice ${props}::${escapeData(message)}`);
  }
  return out.join("\n") + "\n";
}
