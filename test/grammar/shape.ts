import type { SpecFile } from "../../grammar/ast.js";

/** The AST without positions: what must survive formatting. */
export function shape(file: SpecFile): unknown {
  return JSON.parse(
    JSON.stringify({ declarations: file.declarations, comments: file.comments.map((c) => c.text) }, (key, value) =>
      key === "span" || key === "opSpan" || key === "argsSpan" ? undefined : typeof value === "bigint" ? `${value}n` : value,
    ),
  );
}

