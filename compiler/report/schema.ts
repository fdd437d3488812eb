/**
 * The JSON report, `peerc.report/v1`. Counts are exact JSON numbers (the
 * renderer asserts they are safe integers); FLOPs, bytes and seconds are
 * numbers. docs/report.schema.json is generated from this file.
 */
import { z } from "zod";

const byPrecision = z.object({ fp32: z.number(), bf16: z.number() });
const count = z.number().int().nonnegative();

export const SpanSchema = z.object({
  file: z.string(),
  line: z.number().int(),
  column: z.number().int(),
  endLine: z.number().int(),
  endColumn: z.number().int(),
});

const memory = z.object({
  weights: z.number(),
  grads: z.number(),
  optimizer: z.number(),
  buffers: z.number(),
  activations: z.number(),
  total: z.number(),
});

export const LayerJsonSchema = z.object({
  path: z.string(),
  kind: z.string(),
  index: count,
  args: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])),
  span: SpanSchema,
  params: count,
  active_params: count,
  buffers: count,
  params_breakdown: z.record(z.string(), count),
  buffers_breakdown: z.record(z.string(), count),
  flops_per_token: z.object({ forward: z.number(), backward: z.number() }),
  flops_breakdown: z.object({ matrix: z.number(), elementwise: z.number(), macs: z.number() }),
  flops_terms: z.array(z.object({ name: z.string(), matrix: z.number(), elementwise: z.number() })),
  memory_bytes: z.object({
    activations_per_token: byPrecision,
    /** At the train section's step (or one sequence without one). */
    train: z.object({ fp32: memory, bf16: memory }),
  }),
  traffic_bytes_per_token: byPrecision,
  arithmetic_intensity: byPrecision,
  selection: z.object({ topk_candidates: z.number(), gathered_rows: z.number(), gathered_row_width: z.number() }),
  roofline: z.array(z.object({ target: z.string(), seconds: z.number(), bound: z.enum(["compute", "memory"]) })),
});

export const BudgetJsonSchema = z.object({
  metric: z.string(),
  op: z.enum(["<=", "<", ">=", ">", "=="]),
  limit: z.number(),
  unit: z.string().nullable(),
  precision: z.enum(["fp32", "bf16"]),
  target: z.string().nullable(),
  value: z.number().nullable(),
  ok: z.boolean(),
  message: z.string().nullable(),
  span: SpanSchema,
});

export const TotalsJsonSchema = z.object({
  params: count,
  active_params: count,
  buffers: count,
  flops_per_token: z.object({ forward: z.number(), backward: z.number(), train: z.number() }),
  flops_breakdown: z.object({ matrix: z.number(), elementwise: z.number(), macs: z.number() }),
  memory_bytes: z.object({ weights: byPrecision }),
  traffic_bytes_per_token: byPrecision,
  arithmetic_intensity: byPrecision,
  tokens_per_pass: count,
  train: z
    .object({
      tokens_per_step: count,
      tokens_per_pass: count,
      passes_per_step: z.number(),
      flops_per_step: z.number(),
      steps: count,
      steps_from: z.enum(["steps", "tokens", "flops"]),
      tokens: z.number(),
      total_flops: z.number(),
      peak_memory_bytes: z.object({ fp32: memory, bf16: memory }),
    })
    .nullable(),
  roofline: z.array(
    z.object({
      target: z.string(),
      precision: z.enum(["fp32", "bf16"]),
      peak_flops: z.number(),
      /** null: not given (compute-only estimate). */
      bandwidth: z.number().nullable(),
      step_seconds: z.number(),
      train_seconds: z.number().nullable(),
      optimizer_seconds: z.number(),
      compute_bound_layers: count,
      memory_bound_layers: count,
    }),
  ),
  conventions: z.array(z.string()),
});

export const ModelJsonSchema = z.object({
  name: z.string(),
  base_name: z.string(),
  file: z.string(),
  hash: z.string(),
  sweep: z.array(z.object({ name: z.string(), value: z.union([z.number(), z.string()]) })).nullable(),
  totals: TotalsJsonSchema,
  budgets: z.array(BudgetJsonSchema),
  layers: z.array(LayerJsonSchema),
  /**
   * Only with `peerc report --flops-budget F`: the training tokens F buys
   * (F / train FLOPs per token, rounded down) and the steps they make at the
   * train section's tokens per step (null without a train section).
   */
  flops_budget: z
    .object({
      flops: z.number(),
      tokens: count,
      tokens_per_step: count.nullable(),
      steps: count.nullable(),
    })
    .optional(),
});

export const ReportJsonSchema = z.object({
  schema: z.literal("peerc.report/v1"),
  models: z.array(ModelJsonSchema),
});

export type ReportJson = z.infer<typeof ReportJsonSchema>;
export type ModelJson = z.infer<typeof ModelJsonSchema>;
export type LayerJson = z.infer<typeof LayerJsonSchema>;
export type TotalsJson = z.infer<typeof TotalsJsonSchema>;
