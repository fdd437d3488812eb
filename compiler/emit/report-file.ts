/**
 * report.json: the static cost report of the model, the same JSON as
 * `peerc report --format json`, with the spec named relative to the output
 * folder so the bytes do not depend on where peerc ran.
 */
import type { EmitContext } from "./context.js";
import { renderReport } from "../report/index.js";

export function emitReportJson(ctx: EmitContext): string {
  const text = renderReport([ctx.cost], { format: "json", depth: 99, color: false });
  const parsed = JSON.parse(text) as unknown;
  const relocated = relocate(parsed, ctx.model.file, ctx.header.spec);
  return JSON.stringify(relocated, null, 2) + "\n";
}

/** Replaces the spec path as the checker saw it (possibly absolute) wherever it appears as a whole string. */
function relocate(value: unknown, from: string, to: string): unknown {
  if (typeof value === "string") return value === from ? to : value;
  if (Array.isArray(value)) return value.map((v) => relocate(v, from, to));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = relocate(v, from, to);
    return out;
  }
  return value;
}
