/**
 * Argument validation with zod. Each argument type is a zod schema over a
 * compile-time `Value` that yields the IR's plain value, or an issue carrying
 * our code, message and help. `readArgs` matches the written arguments
 * (named, flag, statement value) to a kind's schema and turns zod issues into
 * diagnostics pointing at the offending argument.
 */
import { z } from "zod";
import type { Expr } from "../../grammar/ast.js";
import type { Span } from "../../diagnostics/source.js";
import type { CheckCode } from "../../diagnostics/codes/check.js";
import type { Reporter } from "./report.js";
import { didYouMean, nearest } from "./suggest.js";
import { aTypeName, compactNumber, groupDigits, show, type Value } from "./values.js";

/** Largest dimension the IR allows (see ir/types.ts). */
export const MAX_DIM = 2 ** 31;

export interface Problem {
  code: CheckCode;
  /** `{arg}` is replaced by the argument's name. */
  message: string;
  label?: string;
  help?: string;
}

type Check<T> = (value: Value) => T | Problem;

function isProblem(x: unknown): x is Problem {
  return typeof x === "object" && x !== null && "code" in x && "message" in x && !("t" in x);
}

/** Values that failed earlier are skipped silently: their error is already reported. */
const SILENT = "__silent__";

export function valueSchema<T>(check: Check<T>) {
  return z
    .custom<Value>((v) => v !== undefined, { params: { missing: true } })
    .transform((value, ctx): T => {
      if (value.t === "error") {
        ctx.addIssue({ code: "custom", message: SILENT, params: { silent: true } });
        return z.NEVER;
      }
      const result = check(value);
      if (isProblem(result)) {
        ctx.addIssue({ code: "custom", message: result.message, params: { problem: result } });
        return z.NEVER;
      }
      return result as T;
    });
}

function wrongType(expected: string, value: Value, count = false): Problem {
  if (value.t === "percent" && count) {
    return {
      code: "E0207",
      message: "`{arg}` is a count, not a percentage",
      label: show(value),
      help: "write a whole number, e.g. `64`; percentages are for fractions such as `val: 5%`",
    };
  }
  const found = value.t === "word" ? `the word ${show(value)}` : `${aTypeName(value)} ${show(value)}`;
  return {
    code: "E0206",
    message: `\`{arg}\` expects ${expected}, found ${found}`,
    label: show(value),
    help:
      value.t === "word"
        ? `\`${value.v}\` is not a defined name; define it with \`let ${value.v} = …\` or write ${expected}`
        : value.t === "float"
          ? "integer arithmetic keeps counts exact: avoid `.0` and write exact divisions"
          : undefined,
  };
}

/** An exact integer in [min, MAX_DIM]. */
export function intValue(value: Value, min = 1, max = MAX_DIM): number | Problem {
  if (value.t === "float" && Number.isInteger(value.v) && Math.abs(value.v) <= Number.MAX_SAFE_INTEGER) {
    return intValue({ t: "int", v: BigInt(value.v) }, min, max);
  }
  if (value.t !== "int") return wrongType("a whole number", value, true);
  if (value.v < BigInt(min)) {
    return {
      code: "E0210",
      message: min === 1 ? "`{arg}` must be positive" : `\`{arg}\` must be at least ${groupDigits(min)}`,
      label: `this is ${groupDigits(value.v)}`,
      help: min === 1 ? "use a size of 1 or more" : undefined,
    };
  }
  if (value.v > BigInt(max)) {
    return {
      code: "E0205",
      message: `\`{arg}\` is too large: ${groupDigits(value.v)}`,
      label: `above the limit of ${groupDigits(max)}${max === MAX_DIM ? " (2^31)" : ""}`,
      help: max === MAX_DIM ? "dimensions are at most 2^31 = 2,147,483,648" : undefined,
    };
  }
  return Number(value.v);
}

export const int = (min = 1, max = MAX_DIM) => valueSchema((v) => intValue(v, min, max));

/** A number (integer or float) within bounds; percentages are accepted as fractions when `percent` is set. */
export function num(opts: { gt?: number; ge?: number; le?: number; percent?: boolean } = {}) {
  return valueSchema((value): number | Problem => {
    let x: number;
    if (value.t === "int") x = Number(value.v);
    else if (value.t === "float") x = value.v;
    else if (value.t === "percent" && opts.percent) x = value.v;
    else return wrongType("a number", value);
    if (!Number.isFinite(x)) return notFinite(value);
    if ((opts.gt !== undefined && !(x > opts.gt)) || (opts.ge !== undefined && !(x >= opts.ge)) || (opts.le !== undefined && !(x <= opts.le))) {
      const range = [
        opts.gt !== undefined ? `> ${compactNumber(opts.gt)}` : opts.ge !== undefined ? `≥ ${compactNumber(opts.ge)}` : null,
        opts.le !== undefined ? `≤ ${compactNumber(opts.le)}` : null,
      ].filter(Boolean).join(" and ");
      return { code: opts.gt === 0 && opts.le === undefined ? "E0210" : "E0214", message: `\`{arg}\` must be ${range}`, label: `this is ${show(value)}` };
    }
    return x;
  });
}

/** A number a double cannot hold (`1e400`, or an exact integer past 1.8e308): never a setting. */
export function notFinite(value: Value): Problem {
  return {
    code: "E0205",
    message: "`{arg}` is too large to be a number",
    label: value.t === "int" ? `an integer of ${value.v.toString().length} digits` : "not a finite number",
    help: "numbers must be finite doubles (at most about 1.8e308); write the value you mean",
  };
}

/** A fraction in [0, 1): `5%` or `0.05`. */
export const fraction = (max = 1) =>
  valueSchema((value): number | Problem => {
    const x = value.t === "percent" || value.t === "float" ? value.v : value.t === "int" && value.v === 0n ? 0 : null;
    if (x === null) return wrongType("a fraction such as `5%` or `0.05`", value);
    if (!(x >= 0 && x < max)) {
      return { code: "E0214", message: `\`{arg}\` must be between 0% and ${max * 100}%`, label: `this is ${show(value)}` };
    }
    return x;
  });

export function word<const W extends string>(allowed: readonly W[]) {
  return valueSchema((value): W | Problem => {
    const text = value.t === "word" || value.t === "string" ? value.v : null;
    if (text !== null && (allowed as readonly string[]).includes(text)) return text as W;
    const guess = text !== null ? nearest(text, allowed) : null;
    return {
      code: "E0305",
      message: `\`{arg}\` cannot be ${show(value)}`,
      label: `not one of ${allowed.join(", ")}`,
      help: `${guess ? `did you mean \`${guess}\`? ` : ""}allowed: ${allowed.map((w) => `\`${w}\``).join(", ")}`,
    };
  });
}

export const flag = () =>
  valueSchema((value): boolean | Problem => {
    if (value.t === "bool") return value.v;
    return {
      code: "E0313",
      message: `\`{arg}\` is a flag and takes \`true\` or \`false\`, found ${show(value)}`,
      label: aTypeName(value),
      help: "write the bare flag to turn it on (e.g. `causal`), or `{arg}: false`",
    };
  });

export const text = () =>
  valueSchema((value): string | Problem => (value.t === "string" ? value.v : wrongType("a string in double quotes", value)));

/** The word `none`, or a value of `inner`. */
export function noneOr<T>(inner: Check<T>) {
  return valueSchema((value): T | null | Problem => (value.t === "word" && value.v === "none" ? null : inner(value)));
}

export function numberCheck(gt = 0): Check<number> {
  return (value) => {
    const x = value.t === "int" ? Number(value.v) : value.t === "float" ? value.v : null;
    if (x === null) return wrongType("a number or `none`", value);
    if (!Number.isFinite(x)) return notFinite(value);
    if (!(x > gt)) return { code: "E0210", message: "`{arg}` must be positive", label: `this is ${show(value)}` };
    return x;
  };
}

export const pair = (ge: number, lt: number) =>
  valueSchema((value): [number, number] | Problem => {
    if (value.t !== "tuple" || value.items.length !== 2) return wrongType("a pair such as `(0.9, 0.95)`", value);
    const xs = value.items.map((v) => (v.t === "int" ? Number(v.v) : v.t === "float" ? v.v : NaN));
    if (xs.some((x) => !(x >= ge && x < lt))) {
      return { code: "E0214", message: `both values of \`{arg}\` must be in [${ge}, ${lt})`, label: `this is ${show(value)}` };
    }
    return [xs[0]!, xs[1]!];
  });

// ─── Matching written arguments to a schema ─────────────────────────────────

export interface WrittenArg {
  /** null for a positional argument. */
  readonly name: string | null;
  readonly nameSpan: Span | null;
  readonly span: Span;
  readonly expr: Expr;
  readonly value: Value;
}

export interface ArgsSpec {
  /** What the statement is called in messages: "`attention`", "`optimizer adamw`". */
  readonly what: string;
  /** Names of boolean flags that may be written bare (`causal`). */
  readonly flags?: readonly string[];
  /** The argument a positional string fills (`data bytes("train.txt")` → path). */
  readonly positionalString?: string;
}

export interface ReadArgs<T> {
  readonly data: T;
  /** Where each argument was written (the statement value under "value"). */
  readonly spans: Record<string, Span>;
}

type AnyObject = z.ZodObject<Record<string, z.ZodType>>;

/**
 * Matches arguments to `schema`, reports unknown, duplicate, positional,
 * missing and invalid ones, and returns the parsed data (null on any error).
 */
export function readArgs<S extends AnyObject>(
  schema: S,
  spec: ArgsSpec,
  args: readonly WrittenArg[],
  extra: Record<string, { value: Value; span: Span }>,
  at: Span,
  reporter: Reporter,
): ReadArgs<z.output<S>> | null {
  const known = Object.keys(schema.shape);
  const input: Record<string, Value> = {};
  const spans: Record<string, Span> = {};
  const firstSeen = new Map<string, Span>();
  let ok = true;
  for (const [name, { value, span }] of Object.entries(extra)) {
    input[name] = value;
    spans[name] = span;
  }
  for (const arg of args) {
    let name = arg.name;
    let value = arg.value;
    if (name === null) {
      if (arg.expr.kind === "Name" && spec.flags?.includes(arg.expr.name)) {
        name = arg.expr.name;
        value = { t: "bool", v: true };
      } else if (arg.value.t === "string" && spec.positionalString) {
        name = spec.positionalString;
      } else {
        const flagGuess = arg.expr.kind === "Name" && spec.flags ? nearest(arg.expr.name, spec.flags) : null;
        reporter.report({
          code: "E0312",
          message: `${spec.what} does not take a positional argument here`,
          span: arg.span,
          label: "name this argument",
          help: flagGuess
            ? `did you mean the flag \`${flagGuess}\`?`
            : `write \`name: value\`; ${spec.what} takes ${known.map((k) => `\`${k}\``).join(", ")}`,
        });
        ok = false;
        continue;
      }
    }
    const span = arg.nameSpan ?? arg.span;
    if (!known.includes(name)) {
      reporter.report({
        code: "E0302",
        message: `${spec.what} has no argument \`${name}\``,
        span,
        label: "unknown argument",
        help: `${didYouMean(name, known, "it takes")}`,
      });
      ok = false;
      continue;
    }
    const first = firstSeen.get(name);
    if (first) {
      reporter.report({
        code: "E0304",
        message: `argument \`${name}\` is given twice`,
        span,
        label: "given again here",
        labels: [{ span: first, message: "first given here" }],
        help: "remove one of them",
      });
      ok = false;
      continue;
    }
    firstSeen.set(name, span);
    input[name] = value;
    spans[name] = arg.span;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      let name = String(issue.path[0] ?? "");
      const params = (issue as { params?: { missing?: boolean; silent?: boolean; problem?: Problem } }).params ?? {};
      if (params.silent) continue;
      if (params.missing) {
        reporter.report({
          code: "E0303",
          message: `${spec.what} needs \`${name}\``,
          span: at,
          label: `\`${name}\` missing`,
          help: `add \`${name}: …\``,
        });
      } else if (params.problem) {
        const p = params.problem;
        // The statement's own value is named after the statement: `flops`, not `value`.
        if (name === "value") name = spec.what.replace(/`/g, "");
        reporter.report({
          code: p.code,
          message: p.message.replaceAll("{arg}", name),
          span: spans[name] ?? at,
          label: p.label?.replaceAll("{arg}", name),
          help: p.help?.replaceAll("{arg}", name),
        });
      } else {
        reporter.report({ code: "E0206", message: `\`${name}\`: ${issue.message}`, span: spans[name] ?? at });
      }
    }
    return null;
  }
  return ok ? { data: parsed.data, spans } : null;
}
