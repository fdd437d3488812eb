/**
 * architecture.json's key convention, shared by both targets: the files peerc
 * writes for users (report.json, metrics.jsonl, architecture.json) spell keys
 * in snake_case, while the IR spells them in camelCase.
 */

/** `dModel` → `d_model`. */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** A copy of `value` with every object key in snake_case; keys in `skip` and undefined values are left out. */
export function snakeCaseKeys(value: unknown, skip: ReadonlySet<string> = new Set()): unknown {
  if (Array.isArray(value)) return value.map((v) => snakeCaseKeys(v, skip));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (!skip.has(key) && v !== undefined) out[snakeCase(key)] = snakeCaseKeys(v, skip);
  return out;
}
