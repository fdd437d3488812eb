/**
 * Sweep tables: one row per variant of a model with a value list. With a FLOP
 * budget X, each row also gets the training tokens X / (train FLOPs per token)
 * and the steps they make at the spec's batch: the paper's isoFLOP design.
 */
import type { ModelCost } from "../cost/types.js";
import { mdTable, textTable, type Column } from "./text-table.js";
import { formatBytes, formatCount, formatFlops, formatInt } from "./units.js";

export interface SweepOptions {
  readonly flopsBudget?: number;
  readonly format: "table" | "md" | "json" | "github";
}

export interface SweepRow {
  readonly name: string;
  readonly values: Readonly<Record<string, number | string>>;
  readonly params: bigint;
  readonly activeParams: bigint;
  readonly forwardFlopsPerToken: number;
  readonly trainFlopsPerToken: number;
  readonly peakMemoryFp32: number | null;
  /** Within the FLOP budget: tokens = budget / train FLOPs per token. */
  readonly budgetTokens: number | null;
  readonly budgetSteps: number | null;
}

/** What a FLOP budget buys a model: tokens = budget / train FLOPs per token, and the steps they make at its train step (null without a train section). */
export interface AtFlopsBudget {
  readonly flops: number;
  readonly tokens: number;
  readonly tokensPerStep: number | null;
  readonly steps: number | null;
}

export function atFlopsBudget(c: ModelCost, flops: number): AtFlopsBudget {
  const train = c.totals.flopsPerToken.train;
  const tokens = train > 0 ? Math.floor(flops / train) : 0;
  const tokensPerStep = c.train ? c.train.tokensPerStep : null;
  return { flops, tokens, tokensPerStep, steps: tokensPerStep !== null ? Math.floor(tokens / tokensPerStep) : null };
}

export function sweepRows(costs: readonly ModelCost[], flopsBudget?: number): SweepRow[] {
  return costs.map((c) => {
    const values: Record<string, number | string> = {};
    for (const s of c.model.sweep ?? []) values[s.name] = s.value;
    const train = c.totals.flopsPerToken.train;
    const at = flopsBudget !== undefined && train > 0 ? atFlopsBudget(c, flopsBudget) : null;
    return {
      name: c.model.name,
      values,
      params: c.totals.params,
      activeParams: c.totals.activeParams,
      forwardFlopsPerToken: c.totals.flopsPerToken.forward,
      trainFlopsPerToken: train,
      peakMemoryFp32: c.train ? c.train.peakMemory.fp32.total : null,
      budgetTokens: at ? at.tokens : null,
      budgetSteps: at ? at.steps : null,
    };
  });
}

function groups(costs: readonly ModelCost[]): Map<string, ModelCost[]> {
  const out = new Map<string, ModelCost[]>();
  for (const c of costs) {
    const key = `${c.model.file}\u0000${c.model.baseName}`;
    out.set(key, [...(out.get(key) ?? []), c]);
  }
  return out;
}

export function renderSweep(costs: readonly ModelCost[], opts: SweepOptions): string {
  const swept = costs.filter((c) => c.model.sweep !== null);
  if (opts.format === "json") {
    const rows = sweepRows(swept, opts.flopsBudget).map((r) => ({
      ...r,
      params: Number(r.params),
      activeParams: Number(r.activeParams),
    }));
    return JSON.stringify({ schema: "peerc.sweep/v1", flops_budget: opts.flopsBudget ?? null, rows }, null, 2) + "\n";
  }
  const md = opts.format === "md";
  const out: string[] = [];
  for (const members of groups(swept).values()) {
    const first = members[0]!.model;
    const names = (first.sweep ?? []).map((s) => s.name);
    const columns: Column[] = [
      ...names.map((n) => ({ title: n, align: "right" as const })),
      { title: "params", align: "right" },
      { title: "active", align: "right" },
      { title: "fwd FLOP/token", align: "right" },
      { title: "train FLOP/token", align: "right" },
      { title: "peak mem fp32", align: "right" },
    ];
    if (opts.flopsBudget !== undefined) {
      columns.push({ title: "tokens in budget", align: "right" }, { title: "steps", align: "right" });
    }
    const rows = sweepRows(members, opts.flopsBudget).map((r) => {
      const cells = [
        ...names.map((n) => {
          const v = r.values[n];
          return typeof v === "number" ? formatInt(v) : String(v ?? "");
        }),
        formatCount(r.params),
        formatCount(r.activeParams),
        formatFlops(r.forwardFlopsPerToken),
        formatFlops(r.trainFlopsPerToken),
        r.peakMemoryFp32 === null ? "—" : formatBytes(r.peakMemoryFp32),
      ];
      if (opts.flopsBudget !== undefined) {
        cells.push(r.budgetTokens === null ? "—" : formatCount(r.budgetTokens), r.budgetSteps === null ? "—" : formatInt(r.budgetSteps));
      }
      return cells;
    });
    const title = `sweep ${first.baseName} (${first.file})` + (opts.flopsBudget !== undefined ? ` at ${formatFlops(opts.flopsBudget)}` : "");
    out.push(md ? `### ${title}\n\n${mdTable(columns, rows)}\n` : `${title}\n${textTable(columns, rows)}\n`);
  }
  return out.join("\n");
}
