/**
 * The resolved architecture: the IR of one model without source spans, the
 * spec's file path, or what only the report reads (budgets, the declared name,
 * the sweep values: report.json has them). Emitted as a literal into model.ts
 * (the runtime builds the weights from it) and written by `--export` as JSON,
 * so another framework can rebuild the model.
 */
import type { IRModel, ModelArchitecture } from "../../ir/types.js";

const SPAN_KEYS = new Set(["span", "argSpans", "metricSpan", "limitSpan", "file"]);
/** Top-level keys of the report, not of the architecture. */
const REPORT_KEYS = new Set(["budgets", "baseName", "sweep"]);

/** A copy of `value` without source locations (spans, the spec file's path) or undefined values. */
export function withoutSpans(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSpans);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (SPAN_KEYS.has(k) || v === undefined) continue;
      out[k] = withoutSpans(v);
    }
    return out;
  }
  return value;
}

export function architectureOf(model: IRModel): ModelArchitecture {
  const out = withoutSpans(model) as Record<string, unknown>;
  for (const key of REPORT_KEYS) delete out[key];
  return out as unknown as ModelArchitecture;
}
