/**
 * `peerc show --format json`: the `peerc.show/v2` document (show.ts writes
 * it). A test validates every shipped spec's output against this schema and
 * against its JSON Schema form (ajv), which docs/show.schema.json publishes.
 */
import { z } from "zod";

export const OriginSchema = z.object({
  kind: z.enum(["spec", "import", "default", "derived"]),
  file: z.string().nullable(),
  line: z.number().int().min(1).nullable(),
  column: z.number().int().min(1).nullable(),
  /** What a `derived` value follows from. */
  from: z.string().optional(),
});

export const ShownValueSchema = z.object({
  /** The language's snake_case name: `head_dim`, `optimizer.weight_decay`. */
  key: z.string(),
  /** A number, string, bool, null (`none`), or a small object (`rope: {base}`, `warmup: {steps} | {fraction}`). */
  value: z.unknown(),
  origin: OriginSchema,
  /**
   * For a value written in a block's body from the block's parameters: where
   * each parameter's value was written (a call's argument, or its default).
   * Absent when the value uses none.
   */
  params: z.array(z.object({ param: z.string(), how: z.enum(["argument", "default"]), origin: OriginSchema })).optional(),
});

export const ShownModelSchema = z.object({
  name: z.string(),
  file: z.string(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  sweep: z.array(z.object({ name: z.string(), value: z.union([z.number(), z.string()]) })).nullable(),
  model: z.array(ShownValueSchema),
  layers: z.array(
    z.object({
      path: z.string(),
      kind: z.string(),
      /** The layer's statement: in a block's body when the layer comes from a block. */
      origin: OriginSchema,
      /** The block calls the layer was expanded from, outermost first; [] for a layer written in the model. */
      calls: z.array(z.object({ block: z.string(), origin: OriginSchema })),
      values: z.array(ShownValueSchema),
    }),
  ),
  train: z.array(ShownValueSchema),
  /** False: the model has no train section and `train` holds the defaults of a run without one. */
  trainSection: z.boolean(),
  budgets: z.array(z.object({ text: z.string(), origin: OriginSchema })),
});

export const ShowJsonSchema = z.object({
  schema: z.literal("peerc.show/v2"),
  models: z.array(ShownModelSchema),
});

/** The JSON Schema text of docs/show.schema.json. */
export function showSchemaText(): string {
  const json = z.toJSONSchema(ShowJsonSchema, { target: "draft-2020-12" });
  return JSON.stringify({ title: "peerc.show/v2", description: "peerc show --format json (generated from compiler/cli/commands/show-schema.ts)", ...json }, null, 2) + "\n";
}
