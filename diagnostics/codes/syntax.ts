/**
 * The catalog of syntax diagnostics (E0001–E0099). Codes never change meaning;
 * docs/diagnostics.md is generated from this list.
 */
import type { CatalogEntry } from "../diagnostic.js";

export const SYNTAX_CODES: readonly CatalogEntry[] = [
  { code: "E0001", severity: "error", title: "unexpected character" },
  { code: "E0002", severity: "error", title: "unterminated string" },
  { code: "E0003", severity: "error", title: "invalid escape in a string" },
  { code: "E0004", severity: "error", title: "unterminated block comment" },
  { code: "E0005", severity: "error", title: "malformed number or unknown number suffix" },
  { code: "E0006", severity: "error", title: "'**' used for power (write '^')" },
  { code: "E0007", severity: "error", title: "file is not valid UTF-8" },
  { code: "E0010", severity: "error", title: "unexpected token, or a different token expected" },
  { code: "E0011", severity: "error", title: "missing closing bracket, parenthesis or brace" },
  { code: "E0012", severity: "error", title: "expressions or bodies nested too deeply" },
  { code: "E0013", severity: "error", title: "expected a value" },
  { code: "E0014", severity: "error", title: "statements not separated by a newline or ';'" },
  { code: "E0015", severity: "error", title: "'=' instead of ':' in an argument" },
  { code: "E0098", severity: "error", title: "internal error in the parser" },
  { code: "E0099", severity: "error", title: "too many syntax errors" },
];
