/**
 * Writes docs/report.schema.json from the zod schema of `peerc report --format json`.
 * Run: npx tsx docs/gen-report-schema.ts   (test/cost/schema-doc.test.ts checks it is up to date)
 */
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { ReportJsonSchema } from "../compiler/report/schema.js";

export function reportSchemaText(): string {
  const schema = z.toJSONSchema(ReportJsonSchema, { target: "draft-2020-12" });
  const doc = { title: "peerc.report/v1", description: "peerc report --format json (generated from compiler/report/schema.ts)", ...schema };
  return JSON.stringify(doc, null, 2) + "\n";
}

export const REPORT_SCHEMA_PATH = fileURLToPath(new URL("./report.schema.json", import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  fs.writeFileSync(REPORT_SCHEMA_PATH, reportSchemaText());
  console.log(`wrote ${REPORT_SCHEMA_PATH}`);
}
