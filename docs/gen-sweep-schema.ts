/**
 * Writes docs/sweep-results.schema.json (peerc.sweep-results/v1, `peerc sweep`'s
 * DIR/results.json) from its zod schema in compiler/sweep/schema.ts.
 *
 * Run: npx tsx docs/gen-sweep-schema.ts   (test/sweep/schema.test.ts checks it is up to date)
 */
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { SweepResultsSchema, SWEEP_RESULTS_SCHEMA } from "../compiler/sweep/schema.js";

export function sweepSchemaText(): string {
  const json = z.toJSONSchema(SweepResultsSchema, { target: "draft-2020-12" });
  return JSON.stringify({ title: SWEEP_RESULTS_SCHEMA, description: "peerc sweep: DIR/results.json (generated from compiler/sweep/schema.ts)", ...json }, null, 2) + "\n";
}

export const SWEEP_SCHEMA_PATH = fileURLToPath(new URL("./sweep-results.schema.json", import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  fs.writeFileSync(SWEEP_SCHEMA_PATH, sweepSchemaText());
  console.log(`wrote ${SWEEP_SCHEMA_PATH}`);
}
