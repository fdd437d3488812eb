/**
 * The plan of an isoFLOP sweep: every model of a spec (each variant of a
 * model with value lists) with what the FLOP budget buys it — tokens =
 * budget / train FLOPs per token (the cost model's), and the whole optimizer
 * steps those tokens make at the model's train step (batch × context), the
 * same derivation as `peerc report --flops-budget` (compiler/report/sweep.ts).
 */
import type { IRModel } from "../../ir/types.js";
import type { ModelCost } from "../cost/types.js";
import { atFlopsBudget } from "../report/sweep.js";
import { UsageError } from "../../diagnostics/errors.js";

export interface PlannedVariant {
  /** The checked model's name, e.g. `peer_n[experts=16384]`. */
  readonly name: string;
  /** The declared model name: one method (series) of the plots. */
  readonly method: string;
  readonly values: Readonly<Record<string, number | string>>;
  readonly model: IRModel;
  readonly params: number;
  readonly activeParams: number;
  readonly trainFlopsPerToken: number;
  /** Tokens the budget buys: floor(budget / train FLOPs per token). */
  readonly budgetTokens: number;
  readonly tokensPerStep: number;
  /** Whole steps within the budget: floor(budgetTokens / tokensPerStep), at least 1. */
  readonly steps: number;
  /** Experts (PEER, MoE) or memories (PKM) of the model's sparse layers, summed; null for a dense model. */
  readonly experts: number | null;
}

/** Experts of the routed layers (PEER experts, PKM memories, MoE experts), or null when there is none. */
export function expertCount(model: IRModel): number | null {
  let total = 0;
  let found = false;
  for (const layer of model.layers) {
    if (layer.kind === "peer" || layer.kind === "moe") {
      total += layer.experts;
      found = true;
    } else if (layer.kind === "pkm") {
      total += layer.memories;
      found = true;
    }
  }
  return found ? total : null;
}

export function planSweep(costs: readonly ModelCost[], flopsBudget: number): PlannedVariant[] {
  if (costs.length === 0) throw new UsageError("the spec declares no model to sweep");
  return costs.map((c) => {
    const model = c.model;
    if (!c.train || !model.train) {
      throw new UsageError(`model ${JSON.stringify(model.name)} has no train section: a sweep needs each model's batch, context, optimizer and data`);
    }
    const at = atFlopsBudget(c, flopsBudget);
    const steps = at.steps ?? 0;
    if (steps < 1) {
      const need = c.totals.flopsPerToken.train * c.train.tokensPerStep;
      throw new UsageError(
        `a FLOP budget of ${flopsBudget} buys model ${JSON.stringify(model.name)} ${at.tokens} tokens, less than one step of ${c.train.tokensPerStep} tokens; give --flops-budget ${need.toPrecision(3)} or more`,
      );
    }
    const values: Record<string, number | string> = {};
    for (const s of model.sweep ?? []) values[s.name] = s.value;
    return {
      name: model.name,
      method: model.baseName,
      values,
      model,
      params: Number(c.totals.params),
      activeParams: Number(c.totals.activeParams),
      trainFlopsPerToken: c.totals.flopsPerToken.train,
      budgetTokens: at.tokens,
      tokensPerStep: c.train.tokensPerStep,
      steps,
      experts: expertCount(model),
    };
  });
}
