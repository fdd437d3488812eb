/**
 * `peerc diff --format json`: the `peerc.diff/v1` document (compiler/diff/index.ts
 * writes it). docs/diff.schema.json is generated from this file by
 * docs/gen-report-schema.ts.
 */
import { z } from "zod";

const unit = z.enum(["count", "flops", "bytes", "seconds", "number"]);

export const FigureDeltaSchema = z.object({
  figure: z.string(),
  unit,
  /** null: the figure is absent on that side (a model or train section added or removed). */
  before: z.number().nullable(),
  after: z.number().nullable(),
  delta: z.number().nullable(),
  /** delta / before; null when before is 0 or missing. */
  relative: z.number().nullable(),
});

export const LayerDeltaSchema = z.object({
  path: z.string(),
  status: z.enum(["added", "removed", "changed"]),
  kindBefore: z.string().nullable(),
  kindAfter: z.string().nullable(),
  figures: z.array(FigureDeltaSchema),
});

export const ModelDeltaSchema = z.object({
  name: z.string(),
  /** The old model's name when `--model OLD=NEW` paired two names. */
  renamedFrom: z.string().nullable(),
  status: z.enum(["added", "removed", "changed", "unchanged"]),
  hashBefore: z.string().nullable(),
  hashAfter: z.string().nullable(),
  totals: z.array(FigureDeltaSchema),
  layers: z.array(LayerDeltaSchema),
});

export const FailOnResultSchema = z.object({
  rule: z.string(),
  model: z.string(),
  figure: z.string(),
  kind: z.enum(["relative", "delta", "value"]),
  /** The relative change, the delta or the new value compared; null when it could not be computed. */
  observed: z.number().nullable(),
  failed: z.boolean(),
  text: z.string(),
});

export const DiffJsonSchema = z.object({
  schema: z.literal("peerc.diff/v1"),
  models: z.array(ModelDeltaSchema),
  /** Only with `--fail-on`: each rule on each model. */
  fail_on: z.array(FailOnResultSchema).optional(),
});
