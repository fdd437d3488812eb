/**
 * The published shape of `peerc sweep`'s DIR/results.json (peerc.sweep-results/v1);
 * docs/gen-sweep-schema.ts writes docs/sweep-results.schema.json from it.
 * Keys are snake_case like report.json and metrics.jsonl.
 */
import { z } from "zod";

export const SWEEP_RESULTS_SCHEMA = "peerc.sweep-results/v1";

export const RoutedUsageSchema = z
  .object({
    path: z.string().describe("layer path, e.g. blocks.1.peer"),
    num_experts: z.number().int().positive().describe("N: experts (PEER, MoE) or memories (PKM) of the layer"),
    usage: z.number().min(0).max(1).describe("fraction of experts with non-zero accumulated gate z'_i over the validation set"),
    unevenness: z.number().nullable().describe("KL(z || uniform) = log N + sum z_i log z_i in nats; null when nothing was routed"),
  })
  .strict();

export const SweepVariantResultSchema = z
  .object({
    name: z.string().describe("the checked model's name, e.g. peer_n[experts=16384]"),
    method: z.string().describe("the declared model name: one series of the plots"),
    values: z.record(z.string(), z.union([z.number(), z.string()])).describe("this variant's choices of the spec's value lists"),
    spec_hash: z.string().describe("the model's spec hash (sha256)"),
    params: z.number().int().nonnegative(),
    active_params: z.number().int().nonnegative(),
    experts: z.number().int().positive().nullable().describe("experts or memories of the routed layers, summed; null for a dense model"),
    train_flops_per_token: z.number().nonnegative().describe("the cost model's training FLOPs per token"),
    budget_tokens: z.number().int().nonnegative().describe("floor(flops_budget / train_flops_per_token)"),
    tokens_per_step: z.number().int().positive(),
    steps: z.number().int().positive().describe("floor(budget_tokens / tokens_per_step): the steps trained"),
    tokens_trained: z.number().int().nonnegative().describe("tokens the trainer reports having trained on"),
    val_loss: z.number().describe("validation cross entropy (nats/token) after the last step, in evaluation mode"),
    val_bpb: z.number().describe("validation bits per byte after the last step"),
    expert_usage: z.array(RoutedUsageSchema).describe("Table 2 figures per routed layer, accumulated over the validation set in evaluation mode"),
    seconds: z.number().nonnegative().describe("wall-clock seconds of the variant's training run"),
    run_dir: z.string().describe("the trainer's run folder, relative to the sweep folder"),
  })
  .strict();

export const SweepResultsSchema = z
  .object({
    schema: z.literal(SWEEP_RESULTS_SCHEMA),
    spec: z.string().describe("the swept spec file as given"),
    flops_budget: z.number().positive().describe("training FLOPs per variant (the cost model's count)"),
    target: z.literal("tfjs").describe("the trainer target that ran the variants"),
    seed: z.number().int().nonnegative().describe("seed of weights and batch order, the same for every variant"),
    data: z.string().nullable().describe("--data given to every trainer; null: each spec's data section"),
    val_data: z.string().nullable(),
    eval_batches: z.number().int().positive().nullable().describe("validation batches per evaluation; null: the whole validation split"),
    variants: z.array(SweepVariantResultSchema).describe("finished variants, in spec order"),
    missing: z.array(z.string()).describe("variants without a result (failed or not yet run)"),
  })
  .strict();

export type RoutedUsage = z.infer<typeof RoutedUsageSchema>;
export type SweepVariantResult = z.infer<typeof SweepVariantResultSchema>;
export type SweepResults = z.infer<typeof SweepResultsSchema>;
