/**
 * Identifiers and file names derived from spec names. A spec may name a model
 * `class`, `my-model`, `2x` or `a"b`: the emitted TypeScript must still
 * compile, never collide, and never let a name become code. File names must
 * stay inside the output folder.
 */

/** Reserved words, strict-mode future reserved words, and names the emitted code itself uses. */
const RESERVED = new Set([
  "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete", "do", "else",
  "enum", "export", "extends", "false", "finally", "for", "function", "if", "import", "in", "instanceof",
  "new", "null", "return", "super", "switch", "this", "throw", "true", "try", "typeof", "var", "void",
  "while", "with", "yield", "let", "static", "implements", "interface", "package", "private", "protected",
  "public", "await", "async", "as", "any", "boolean", "constructor", "declare", "get", "module", "require",
  "number", "set", "string", "symbol", "type", "from", "of", "namespace", "never", "unknown", "object",
  "undefined", "arguments", "eval", "NaN", "Infinity", "globalThis", "tf", "rt", "x", "ctx",
]);

/** Splits on anything that is not a letter or digit; keeps ASCII only (non-ASCII letters become separators). */
function words(name: string): string[] {
  return name.split(/[^A-Za-z0-9]+/).filter((w) => w.length > 0);
}

/** lowerCamelCase identifier for `name`; "_" prefix when it would start with a digit or be reserved. */
export function camelIdentifier(name: string): string {
  const parts = words(name);
  let id = parts
    .map((w, i) => (i === 0 ? w.charAt(0).toLowerCase() + w.slice(1) : w.charAt(0).toUpperCase() + w.slice(1)))
    .join("");
  if (id.length === 0) id = "unnamed";
  if (/^[0-9]/.test(id) || RESERVED.has(id)) id = "_" + id;
  return id;
}

/** UpperCamelCase identifier for types. */
export function pascalIdentifier(name: string): string {
  const id = camelIdentifier(name).replace(/^_/, "");
  const pascal = id.charAt(0).toUpperCase() + id.slice(1);
  return /^[0-9]/.test(pascal) ? "M" + pascal : pascal;
}

/** Hands out identifiers, each unique within one scope: a clash gets "_2", "_3", … in request order. */
export class NameScope {
  private readonly used = new Set<string>();

  constructor(taken: Iterable<string> = []) {
    for (const name of taken) this.used.add(name);
  }

  /** A fresh identifier for `name` (camelCase unless `pascal`). */
  claim(name: string, style: "camel" | "pascal" = "camel"): string {
    const base = style === "camel" ? camelIdentifier(name) : pascalIdentifier(name);
    let candidate = base;
    for (let n = 2; this.used.has(candidate); n++) candidate = `${base}_${n}`;
    this.used.add(candidate);
    return candidate;
  }
}

/**
 * A folder or file name from a spec name: [a-z0-9_-] only, no leading dot,
 * at most 64 characters, never empty. "peer_n[experts=16384]" → "peer_n-experts-16384".
 */
export function safeFileName(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^[-_.]+|[-_.]+$/g, "")
    .slice(0, 64)
    .replace(/[-_]+$/g, "");
  return cleaned.length > 0 ? cleaned : "model";
}
