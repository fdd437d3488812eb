/**
 * Writes the published JSON Schemas of peerc's JSON outputs from their zod schemas:
 *
 *   docs/report.schema.json       peerc.report/v1       peerc report --format json   (compiler/report/schema.ts)
 *   docs/diagnostics.schema.json  peerc.diagnostics/v1  peerc check --format json    (compiler/report/diagnostics-schema.ts)
 *   docs/diff.schema.json         peerc.diff/v1         peerc diff --format json     (compiler/diff/schema.ts)
 *   docs/show.schema.json         peerc.show/v2         peerc show --format json     (compiler/cli/commands/show-schema.ts)
 *
 * Run: npx tsx docs/gen-report-schema.ts   (test/cost/report.test.ts,
 * test/cost/published-schema.test.ts and test/cli/explain-init-show.test.ts check they are up to date)
 */
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { ReportJsonSchema } from "../compiler/report/schema.js";
import { DiagnosticsJsonSchema } from "../compiler/report/diagnostics-schema.js";
import { DiffJsonSchema } from "../compiler/diff/schema.js";
import { showSchemaText } from "../compiler/cli/commands/show-schema.js";

function schemaText(schema: z.ZodType, title: string, description: string): string {
  const json = z.toJSONSchema(schema, { target: "draft-2020-12" });
  return JSON.stringify({ title, description, ...json }, null, 2) + "\n";
}

export function reportSchemaText(): string {
  return schemaText(ReportJsonSchema, "peerc.report/v1", "peerc report --format json (generated from compiler/report/schema.ts)");
}

export function diagnosticsSchemaText(): string {
  return schemaText(DiagnosticsJsonSchema, "peerc.diagnostics/v1", "peerc check --format json (generated from compiler/report/diagnostics-schema.ts)");
}

export function diffSchemaText(): string {
  return schemaText(DiffJsonSchema, "peerc.diff/v1", "peerc diff --format json (generated from compiler/diff/schema.ts)");
}

export const REPORT_SCHEMA_PATH = fileURLToPath(new URL("./report.schema.json", import.meta.url));
export const DIAGNOSTICS_SCHEMA_PATH = fileURLToPath(new URL("./diagnostics.schema.json", import.meta.url));
export const DIFF_SCHEMA_PATH = fileURLToPath(new URL("./diff.schema.json", import.meta.url));
export const SHOW_SCHEMA_PATH = fileURLToPath(new URL("./show.schema.json", import.meta.url));

export const PUBLISHED_SCHEMAS: readonly { readonly path: string; readonly text: () => string }[] = [
  { path: REPORT_SCHEMA_PATH, text: reportSchemaText },
  { path: DIAGNOSTICS_SCHEMA_PATH, text: diagnosticsSchemaText },
  { path: DIFF_SCHEMA_PATH, text: diffSchemaText },
  { path: SHOW_SCHEMA_PATH, text: showSchemaText },
];

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const s of PUBLISHED_SCHEMAS) {
    fs.writeFileSync(s.path, s.text());
    console.log(`wrote ${s.path}`);
  }
}
