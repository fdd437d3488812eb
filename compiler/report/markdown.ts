/** GitHub-flavoured markdown, for PR comments and job summaries. */
import type { ModelCost } from "../cost/types.js";
import { CONVENTIONS } from "../cost/conventions.js";
import { budgetLines, summaryLines } from "./summary.js";
import { mdTable } from "./text-table.js";
import { LAYER_COLUMNS, layerCells, missingTargetNote, type HumanOptions } from "./table.js";

export function renderMarkdown(costs: readonly ModelCost[], opts: HumanOptions): string {
  const out: string[] = ["## peerc report", ""];
  for (const cost of costs) {
    const m = cost.model;
    out.push(`### \`${m.name}\``, "", `\`${m.file}\` · spec \`${m.hash.slice(0, 12)}\``, "");
    out.push(mdTable([{ title: "figure", align: "left" }, { title: "value", align: "left" }], summaryLines(cost, opts.flopsBudget).map((l) => [l.label, l.value])));
    const budgets = budgetLines(cost);
    if (budgets.length > 0) {
      out.push("", "**Budgets**", "");
      for (const b of budgets) out.push(`- ${b.ok ? "✅" : "❌"} ${b.text}`);
    }
    out.push("", "<details><summary>Per-layer costs</summary>", "");
    const columns = LAYER_COLUMNS.map((c) => (c.title === "bound" ? { ...c, title: `bound ${opts.target}` } : c));
    // Non-breaking spaces keep the indentation visible in rendered markdown.
    out.push(mdTable(columns, layerCells(cost, opts, (d) => "\u00a0\u00a0".repeat(d)).map((r) => [`\`${r[0]!.trim()}\``, ...r.slice(1)])));
    const missing = missingTargetNote(cost, opts.target);
    if (missing !== null) out.push("", `_${missing}_`);
    out.push("", "</details>", "");
  }
  out.push("<details><summary>Conventions</summary>", "", ...CONVENTIONS.map((c) => `- ${c}`), "", "</details>", "");
  return out.join("\n");
}
