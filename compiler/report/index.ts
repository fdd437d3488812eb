/** `renderReport`: one entry point for every report format. */
import type { ModelCost } from "../cost/types.js";
import { renderTable } from "./table.js";
import { renderMarkdown } from "./markdown.js";
import { renderGithub } from "./github.js";
import { renderJson } from "./json.js";

export type ReportFormat = "table" | "json" | "md" | "github";

export interface ReportOptions {
  readonly format: ReportFormat;
  /** Fold layers whose path has more segments than this into their prefix. */
  readonly depth: number;
  readonly color: boolean;
  /** Roofline target for the "bound" column and step time; default h100. */
  readonly target?: string;
  /** `--flops-budget`: the tokens and steps this many training FLOPs buy each model. */
  readonly flopsBudget?: number;
}

export function renderReport(costs: readonly ModelCost[], opts: ReportOptions): string {
  const target = opts.target ?? "h100";
  const human = { depth: opts.depth, color: opts.color, target, flopsBudget: opts.flopsBudget };
  switch (opts.format) {
    case "table":
      return renderTable(costs, human);
    case "md":
      return renderMarkdown(costs, human);
    case "github":
      return renderGithub(costs, target, opts.flopsBudget);
    case "json":
      return renderJson(costs, { flopsBudget: opts.flopsBudget });
  }
}

export { reportJson, renderJson } from "./json.js";
export { renderSweep } from "./sweep.js";
export type { ReportJson, ModelJson, LayerJson } from "./schema.js";
