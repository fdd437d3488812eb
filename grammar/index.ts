/** The public surface of grammar/: parse a spec, format it, and the syntax-code catalog. */
export { parseSpec, MAX_SYNTAX_ERRORS, type ParseResult } from "./parse.js";
export { formatSpec, formatSource, formatExpr } from "./printer.js";
export { SYNTAX_CODES } from "../diagnostics/codes/syntax.js";
export { parseNumber, stringValue, type NumberValue, type StringValue } from "./lexer.js";
export { MAX_NESTING } from "./parser.js";
export { MAX_CHAIN } from "./ast-builder.js";
export type * from "./ast.js";
export * from "../diagnostics/source.js";
