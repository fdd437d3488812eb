/**
 * `peerc check --format json` (and every command's diagnostics in JSON):
 * the `peerc.diagnostics/v1` document written by diagnostics/render.ts.
 * docs/diagnostics.schema.json is generated from this file by
 * docs/gen-report-schema.ts; test/cost/published-schema.test.ts validates real
 * output against the generated file.
 */
import { z } from "zod";

/** 1-based lines and columns; the end is exclusive. Null only for a problem with no place in a spec. */
const place = {
  file: z.string().nullable(),
  line: z.number().int().positive().nullable(),
  column: z.number().int().positive().nullable(),
  endLine: z.number().int().positive().nullable(),
  endColumn: z.number().int().positive().nullable(),
};

export const DiagnosticJsonSchema = z.object({
  /** Stable code (E0301, W0101); docs/diagnostics.md documents each. */
  code: z.string().regex(/^[EW]\d{4}$/),
  severity: z.enum(["error", "warning", "note"]),
  message: z.string(),
  ...place,
  label: z.string().nullable(),
  labels: z.array(z.object({ ...place, message: z.string() })),
  notes: z.array(z.string()),
  help: z.string().nullable(),
});

export const DiagnosticsJsonSchema = z.object({
  schema: z.literal("peerc.diagnostics/v1"),
  diagnostics: z.array(DiagnosticJsonSchema),
});

export type DiagnosticsJson = z.infer<typeof DiagnosticsJsonSchema>;
