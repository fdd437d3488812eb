/** The terminal report: a torchinfo-like per-layer table, totals, budgets and the conventions. */
import type { ModelCost } from "../cost/types.js";
import { CONVENTIONS } from "../cost/conventions.js";
import { reportRows } from "./rows.js";
import { budgetLines, summaryLines } from "./summary.js";
import { textTable, type Column } from "./text-table.js";
import { formatBytes, formatCount, formatFlops } from "./units.js";

export interface HumanOptions {
  readonly depth: number;
  readonly color: boolean;
  readonly target: string;
  /** `--flops-budget`: a summary line with the tokens and steps it buys. */
  readonly flopsBudget?: number;
}

/**
 * Why the "bound" column is empty, or null when the target has an estimate:
 * the cpu target has no built-in peak (E0605 is the same rule for budgets).
 */
export function missingTargetNote(cost: ModelCost, target: string): string | null {
  if (cost.roofline.some((r) => r.target === target)) return null;
  return target === "cpu"
    ? "bound cpu: no estimate without the cpu's peak: pass --cpu-peak <FLOP/s> (and --cpu-bandwidth <bytes/s>)"
    : `bound ${target}: no roofline estimate for this target`;
}

export const LAYER_COLUMNS: readonly Column[] = [
  { title: "layer", align: "left" },
  { title: "kind", align: "left" },
  { title: "args", align: "left" },
  { title: "params", align: "right" },
  { title: "active", align: "right" },
  { title: "fwd FLOP/token", align: "right" },
  { title: "train mem fp32", align: "right" },
  { title: "bound", align: "left" },
];

export function layerCells(cost: ModelCost, opts: HumanOptions, indent: (depth: number) => string): string[][] {
  return reportRows(cost, opts.depth, opts.target).map((r) => [
    indent(r.depth) + r.path,
    r.kind,
    r.args,
    formatCount(r.params),
    formatCount(r.activeParams),
    formatFlops(r.forwardFlops),
    formatBytes(r.trainMemoryFp32),
    r.bound === "" ? "—" : r.bound,
  ]);
}

function paint(color: boolean, code: string): (s: string) => string {
  return color ? (s) => `\x1b[${code}m${s}\x1b[0m` : (s) => s;
}

export function renderTable(costs: readonly ModelCost[], opts: HumanOptions): string {
  const bold = paint(opts.color, "1");
  const green = paint(opts.color, "32");
  const red = paint(opts.color, "31");
  const dim = paint(opts.color, "2");
  const out: string[] = [];
  for (const cost of costs) {
    const m = cost.model;
    out.push(bold(`model ${m.name}`) + dim(`  (${m.file}, spec ${m.hash.slice(0, 12)})`));
    const columns = LAYER_COLUMNS.map((c) => (c.title === "bound" ? { ...c, title: `bound ${opts.target}` } : c));
    out.push(textTable(columns, layerCells(cost, opts, (d) => " ".repeat(d)), bold));
    const missing = missingTargetNote(cost, opts.target);
    if (missing !== null) out.push(dim(missing));
    const lines = summaryLines(cost, opts.flopsBudget);
    const width = Math.max(...lines.map((l) => l.label.length));
    for (const l of lines) out.push(`${l.label.padEnd(width)}  ${l.value}`);
    const budgets = budgetLines(cost);
    if (budgets.length > 0) {
      out.push(bold("budgets"));
      for (const b of budgets) out.push(`  ${b.ok ? green("✓") : red("✗")} ${b.text}`);
    }
    out.push("");
  }
  out.push(dim("conventions:"));
  for (const c of CONVENTIONS) out.push(dim(`  - ${c}`));
  return out.join("\n") + "\n";
}
