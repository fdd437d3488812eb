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
    r.bound,
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
    const lines = summaryLines(cost);
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
