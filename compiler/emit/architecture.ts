/**
 * The resolved architecture: the IR of one model without source spans or the
 * spec's file path. Emitted as a literal into model.ts (the runtime builds the
 * weights from it) and written by `--export` as JSON, so another framework can
 * rebuild the model.
 */
import type { IRModel } from "../../ir/types.js";

const SPAN_KEYS = new Set(["span", "argSpans", "metricSpan", "limitSpan", "file"]);

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
  return strip(model) as Record<string, unknown>;
}
