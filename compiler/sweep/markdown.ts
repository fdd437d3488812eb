/** DIR/results.md: the sweep's table (one row per finished variant), Table 2's figures and the plots. */
import type { SweepResults } from "./schema.js";
import { shortCount } from "./plot.js";

/** A cell from a spec string: markdown table syntax and control characters neutralised. */
function cell(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, "?").replace(/\|/g, "\\|").replace(/</g, "&lt;");
}

export function resultsMarkdown(r: SweepResults, plots: { paramsPlot: string; expertsPlot: string | null }): string {
  const out: string[] = [];
  out.push(`# Sweep of ${cell(r.spec)} at ${r.flops_budget.toPrecision(3)} training FLOPs`, "");
  out.push(
    `Target ${r.target}, seed ${r.seed}, data ${r.data === null ? "from each spec's data section" : `\`${cell(r.data)}\``}` +
      `${r.val_data === null ? "" : `, validation \`${cell(r.val_data)}\``}; ` +
      `validation over ${r.eval_batches === null ? "the whole validation split" : `${r.eval_batches} batches`} after the last step, in evaluation mode.`,
    "",
  );
  out.push("| method | variant | params | active | N | steps | tokens | val bits/byte | expert usage | unevenness |");
  out.push("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const v of r.variants) {
    const usage = v.expert_usage.map((u) => `${(100 * u.usage).toFixed(1)}%`).join(", ") || "—";
    const uneven = v.expert_usage.map((u) => (u.unevenness === null ? "—" : u.unevenness.toFixed(3))).join(", ") || "—";
    out.push(
      `| ${cell(v.method)} | ${cell(v.name)} | ${shortCount(v.params)} | ${shortCount(v.active_params)} | ${v.experts === null ? "—" : shortCount(v.experts)} | ` +
        `${v.steps} | ${shortCount(v.tokens_trained)} | ${v.val_bpb.toFixed(4)} | ${usage} | ${uneven} |`,
    );
  }
  out.push("");
  out.push("Expert usage and unevenness as in the paper's Table 2: z'_i = Σ_x g_i(x) over the validation tokens, z = z'/‖z'‖₁, usage = #{z_i ≠ 0}/N, unevenness = log N + Σ z_i log z_i (nats; 0 = even).");
  out.push("");
  if (r.missing.length > 0) out.push(`Not done yet (or failed): ${r.missing.map(cell).join(", ")}. Run the same command again to continue.`, "");
  out.push(`![validation bits per byte against parameters](${plots.paramsPlot})`, "");
  if (plots.expertsPlot !== null) out.push(`![validation bits per byte against experts](${plots.expertsPlot})`, "");
  return out.join("\n");
}
