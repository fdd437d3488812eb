/**
 * The resolved architecture: the IR of one model without source spans, the
 * spec's file path, or what only the report reads (budgets, the declared name,
 * the sweep values: report.json has them). Emitted as a literal into model.ts
 * (the runtime builds the weights from it) and written by `--export` as JSON,
 * so another framework can rebuild the model.
 */
import type { IRModel } from "../../ir/types.js";

const SPAN_KEYS = new Set(["span", "argSpans", "metricSpan", "limitSpan", "file"]);
/** Top-level keys of the report, not of the architecture. */
const REPORT_KEYS = new Set(["budgets", "baseName", "sweep"]);

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (SPAN_KEYS.has(k) || v === undefined) continue;
      out[k] = strip(v);
    }
    return out;
  }
  return value;
}

export function architectureOf(model: IRModel): Record<string, unknown> {
  const out = strip(model) as Record<string, unknown>;
  for (const key of REPORT_KEYS) delete out[key];
  return out;
}
