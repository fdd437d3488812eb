/**
 * Python literals for emitted code. Every string that came from a spec goes
 * through `pyString` (a double-quoted literal with every non-ASCII or control
 * character escaped, so no spec text can close the literal or hide a line
 * break) or `pyComment` (one line, quoted the same way).
 */

/** A Python str literal whose value is exactly `value` (ASCII-only source). */
export function pyString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else if (code <= 0xff) out += "\\x" + code.toString(16).padStart(2, "0");
    else if (code <= 0xffff) out += "\\u" + code.toString(16).padStart(4, "0");
    else out += "\\U" + code.toString(16).padStart(8, "0");
  }
  return out + '"';
}

/** Spec text inside a `#` comment: a quoted one-line literal. */
export function pyComment(value: string): string {
  return pyString(value);
}

/** A number as a Python literal: integers exact, floats in shortest round-trip form. */
export function pyNumber(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`cannot emit non-finite number ${value}`);
  if (Number.isInteger(value)) return Object.is(value, -0) ? "0" : String(value);
  const s = String(value);
  return s.includes("e") && !s.includes(".") ? s.replace("e", ".0e") : s;
}

/** A float literal (always with a decimal point or exponent). */
export function pyFloat(value: number): string {
  const s = pyNumber(value);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/** A JSON-like value as a Python literal (dict, list, str, int/float, bool, None). */
export function pyValue(value: unknown, indent = ""): string {
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") return pyNumber(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return pyString(value);
  const inner = indent + "    ";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    if (value.every((v) => typeof v !== "object" || v === null)) return `[${value.map((v) => pyValue(v)).join(", ")}]`;
    return `[\n${value.map((v) => inner + pyValue(v, inner)).join(",\n")},\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return "{}";
  return `{\n${entries.map(([k, v]) => `${inner}${pyString(k)}: ${pyValue(v, inner)}`).join(",\n")},\n${indent}}`;
}

const PY_KEYWORDS = new Set(
  "False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case type".split(" "),
);

/** A layer path ([a-z0-9_.]) as a Python identifier (not a keyword, not starting with a digit). */
export function pyIdentifier(path: string): string {
  if (!/^[a-z0-9_.]+$/.test(path)) throw new Error(`layer path is not [a-z0-9_.]: ${JSON.stringify(path)}`);
  const id = path.replace(/\./g, "__");
  return /^[0-9]/.test(id) || PY_KEYWORDS.has(id) ? `l_${id}` : id;
}

/** Distinct identifiers for distinct paths ("a.b" and "a__b" would collide): later ones get _2, _3, … */
export function pyIdentifiers(paths: readonly string[]): string[] {
  // Names the model class already has (torch.nn.Module's and peerc_runtime.LanguageModel's) stay free.
  const used = new Set<string>(
    ("ids ctx x training record_routing layer_list forward path train eval to cuda cpu float double half type apply " +
      "parameters buffers modules children named_parameters named_buffers named_modules add_module register_buffer " +
      "register_parameter state_dict load_state_dict zero_grad requires_grad_ share_memory get_parameter loss tables " +
      "init_weights load_tensors export_tensors dense_parameters buffers_named param_count layer_modules").split(" "),
  );
  return paths.map((p) => {
    const base = pyIdentifier(p);
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
    used.add(id);
    return id;
  });
}
