/**
 * The only doors through which text from a spec (model names, data paths,
 * layer paths) enters generated files. Every spec string is escaped here, so a
 * name holding quotes, backslashes, newlines, `*\/` or `${` can neither inject
 * code nor end a comment early.
 */

/** Line terminators of ECMAScript: a raw one ends a `//` comment. */
const LINE_TERMINATORS = /[\n\r\u2028\u2029]/g;

function escapeLineTerminator(c: string): string {
  switch (c) {
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case "\u2028":
      return "\\u2028";
    default:
      return "\\u2029";
  }
}

/**
 * A TypeScript string literal (double-quoted) whose value is exactly `value`.
 * JSON.stringify escapes quotes, backslashes and control characters; U+2028/9
 * are escaped too so the literal reads the same in any editor. `${` is inert in
 * a double-quoted literal, and template literals are never used for spec text.
 */
export function tsString(value: string): string {
  return JSON.stringify(value).replace(/[\u2028\u2029]/g, escapeLineTerminator);
}

/**
 * A template literal whose value is exactly `text`, for multi-line generated
 * text (WGSL sources) that reads best unquoted. Never for spec text: backslash,
 * backtick and `${` are escaped all the same.
 */
export function tsTemplate(text: string): string {
  return "`" + text.replace(/\\/g, "\\\\").replace(/`/g, "\\`").replace(/\$\{/g, "\\${").replace(/\r/g, "\\r") + "`";
}

/**
 * Spec text shown inside a comment (`//` or `/* *\/`): quoted like a string
 * literal so it stays on one line, with `*\/` broken so a block comment cannot
 * be closed from inside.
 */
export function commentText(value: string): string {
  return tsString(value).replace(/\*\//g, "*\\/").replace(LINE_TERMINATORS, escapeLineTerminator);
}

/** Spec text inside a Markdown table cell or paragraph: one line, no markup, no HTML. */
export function markdownText(value: string): string {
  return value
    .replace(LINE_TERMINATORS, " ")
    .replace(/[\\`*_{}[\]()#+!|<>~-]/g, (c) => `\\${c}`)
    .replace(/&/g, "&amp;");
}

/** A number as a TS literal: exact for integers, shortest round-trip form otherwise. */
export function tsNumber(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`cannot emit non-finite number ${value}`);
  if (Number.isInteger(value) && Math.abs(value) >= 1e4 && Number.isSafeInteger(value)) {
    // 1_048_576 reads better than 1048576 and is the same literal.
    return groupDigits(value);
  }
  return Object.is(value, -0) ? "0" : String(value);
}

function groupDigits(value: number): string {
  const sign = value < 0 ? "-" : "";
  const digits = String(Math.abs(value));
  let out = "";
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += "_";
    out += digits[i];
  }
  return sign + out;
}

/** A plain JSON value as a TS expression (object keys sorted for stable bytes). */
export function tsValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return tsString(value);
  if (typeof value === "number") return tsNumber(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (Array.isArray(value)) return `[${value.map(tsValue).join(", ")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.length === 0) return "{}";
    return `{ ${entries.map(([k, v]) => `${propertyKey(k)}: ${tsValue(v)}`).join(", ")} }`;
  }
  throw new Error(`cannot emit a value of type ${typeof value}`);
}

/** An object key: bare when it is a plain identifier, quoted otherwise. */
export function propertyKey(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : tsString(key);
}

/**
 * Like `tsValue`, laid out one entry per line (indented by `indent`) when the
 * one-line form would be longer than `width`: big literals stay readable.
 */
export function tsValuePretty(value: unknown, indent = "", width = 100): string {
  const flat = tsValue(value);
  if (flat.length + indent.length <= width || value === null || typeof value !== "object") return flat;
  const inner = indent + "  ";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((v) => inner + tsValuePretty(v, inner, width) + ",").join("\n")}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return "{}";
  return `{\n${entries.map(([k, v]) => `${inner}${propertyKey(k)}: ${tsValuePretty(v, inner, width)},`).join("\n")}\n${indent}}`;
}
