/**
 * Compile-time values. Integers are exact (BigInt) so `1024^2 * 4096` never
 * rounds; floats are doubles; a percentage keeps its fraction (`10%` → 0.1).
 * A bare name that is not bound evaluates to a *word* (`gelu`, `rms`, `tied`).
 * `fromList` remembers that a value came out of a sweep list, so a condition
 * that depends on one can be refused.
 */
import type { Span } from "../../diagnostics/source.js";

export type Value =
  | { readonly t: "int"; readonly v: bigint; readonly fromList?: Span }
  | { readonly t: "float"; readonly v: number; readonly fromList?: Span }
  | { readonly t: "percent"; readonly v: number; readonly fromList?: Span }
  | { readonly t: "string"; readonly v: string; readonly fromList?: Span }
  | { readonly t: "bool"; readonly v: boolean; readonly fromList?: Span }
  | { readonly t: "word"; readonly v: string; readonly fromList?: Span }
  | { readonly t: "tuple"; readonly items: readonly Value[]; readonly fromList?: Span }
  /** Evaluation already failed and was reported: callers stay silent. */
  | { readonly t: "error"; readonly fromList?: Span };

export const ERROR: Value = { t: "error" };

/** "an integer", "a string": the type with its article. */
export function aTypeName(value: Value): string {
  const name = typeName(value);
  return /^[aeiou]/.test(name) ? `an ${name}` : `a ${name}`;
}

export function typeName(value: Value): string {
  switch (value.t) {
    case "int": return "integer";
    case "float": return "float";
    case "percent": return "percentage";
    case "string": return "string";
    case "bool": return "bool";
    case "word": return "word";
    case "tuple": return "tuple";
    case "error": return "error";
  }
}

/** 1046529 → "1,046,529". */
export function groupDigits(n: bigint | number): string {
  const s = typeof n === "bigint" ? n.toString() : String(n);
  const negative = s.startsWith("-");
  const digits = negative ? s.slice(1) : s;
  if (!/^\d+$/.test(digits)) return s;
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return negative ? "-" + grouped : grouped;
}

/** A number as a person writes it: `1,000`, `0.001`, `1.97e7`, `1e35` (at most 4 significant digits past a million). */
export function compactNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return groupDigits(x);
  if (Math.abs(x) >= 1e6) return Number(x.toPrecision(4)).toExponential().replace("e+", "e");
  return String(Number(x.toPrecision(6)));
}

/** An integer too long to read in full (more than 24 digits) is shown as `1.000e300`. */
function showInt(v: bigint): string {
  const s = (v < 0n ? -v : v).toString();
  if (s.length <= 24) return groupDigits(v);
  const mantissa = `${s[0]}.${s.slice(1, 4)}`;
  return `${v < 0n ? "-" : ""}${mantissa}e${s.length - 1}`;
}

/** How a value is shown in messages: `1,048,576`, `"path"`, `gelu`, `(0.9, 0.95)`. */
export function show(value: Value): string {
  switch (value.t) {
    case "int": return showInt(value.v);
    case "float": return formatFloat(value.v);
    case "percent": return `${Number((value.v * 100).toPrecision(12))}%`;
    case "string": return JSON.stringify(value.v);
    case "bool": return String(value.v);
    case "word": return value.v;
    case "tuple": return `(${value.items.map(show).join(", ")})`;
    case "error": return "<error>";
  }
}

export function formatFloat(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e21) return x.toFixed(1);
  return String(Number(x.toPrecision(12)));
}

/** The number a numeric value stands for (a percentage as its fraction). */
export function toNumber(value: Value): number | null {
  if (value.t === "int") return Number(value.v);
  if (value.t === "float" || value.t === "percent") return value.v;
  return null;
}

export function withList<T extends Value>(value: T, list: Span | undefined): T {
  return list && !value.fromList ? { ...value, fromList: list } : value;
}
