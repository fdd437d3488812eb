/**
 * The spec hash: sha256 of the canonical JSON of a model with every span and
 * the file name left out, so moving or reformatting a file keeps the hash and
 * any change to a dimension or setting changes it.
 */
import { createHash } from "node:crypto";

const SKIPPED = new Set(["span", "argSpans", "metricSpan", "limitSpan", "file", "hash"]);

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) return JSON.stringify(String(value));
    return JSON.stringify(value) ?? "null";
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([key, v]) => !SKIPPED.has(key) && v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, v]) => `${JSON.stringify(key)}:${canonicalJson(v)}`).join(",")}}`;
}

export function specHash(model: object): string {
  return createHash("sha256").update(canonicalJson(model)).digest("hex");
}
