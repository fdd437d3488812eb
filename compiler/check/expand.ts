/**
 * Expansion of a model body: lets, repeats, conditions, residuals and block
 * invocations are resolved into a flat list of layer statements with their
 * evaluated arguments and dot paths (see docs/language.md, "Layer paths").
 */
import type { Argument, BlockDecl, Body, Expr, Statement } from "../../grammar/ast.js";
import type { Span } from "../../diagnostics/source.js";
import type { LayerKind } from "../../ir/types.js";
import type { WrittenArg } from "./args.js";
import type { Run } from "./evaluate.js";
import { isLayerKind, LAYERS } from "./layers/index.js";
import { FileScope, LocalScope, type Binding, type Scope } from "./scope.js";
import { didYouMean, nearest } from "./suggest.js";
import { groupDigits, show, type Value } from "./values.js";
import type { LetStatement } from "../../grammar/ast.js";

export const MAX_REPEAT = 10_000;
/** Statements expanded per model (nested repeats multiply): beyond this the spec is refused, not run for hours. */
export const MAX_EXPANSION = 200_000;
export const MODEL_PROPERTIES = ["vocab", "context"] as const;
export const TRAIN_SETTINGS = [
  "batch", "micro_batch", "steps", "tokens", "flops", "optimizer", "schedule", "data",
  "seed", "eval_every", "checkpoint_every", "log_every", "bn_recalibrate",
] as const;

export interface RawLayer {
  readonly kind: LayerKind;
  readonly stmt: Statement;
  readonly path: string;
  readonly value: { readonly value: Value; readonly span: Span } | null;
  readonly args: readonly WrittenArg[];
  /** The block invocations this layer was expanded from, outermost first ([] when written in the model body). */
  readonly calls: readonly Statement[];
  /** For arguments (by their span) that use block parameters: where those parameters' values were written. */
  readonly params: ReadonlyMap<Span, readonly ParamSource[]>;
}

/**
 * Where a block parameter's value was written: an argument of a call, or the
 * parameter's default. A parameter passed on unchanged (`inner(w: w)`) is
 * followed to where its value was written further out.
 */
export interface ParamSource {
  readonly param: string;
  readonly how: "argument" | "default";
  readonly span: Span;
}

/** The parameter sources of a layer written outside every block: none (shared, never written to). */
const NO_PARAMS: ReadonlyMap<Span, readonly ParamSource[]> = new Map();

export interface RawResidual {
  readonly path: string;
  readonly start: number;
  readonly end: number;
  readonly span: Span;
}

export interface ModelDraft {
  readonly props: Map<string, { value: Value; span: Span; stmt: Statement }>;
  readonly layers: RawLayer[];
  readonly residuals: RawResidual[];
}

/** Hands out unique path segments within one container (model body, repeat iteration, block invocation). */
class Container {
  private readonly counts = new Map<string, number>();
  constructor(readonly prefix: string, readonly topLevel: boolean) {}
  segment(base: string): string {
    const n = (this.counts.get(base) ?? 0) + 1;
    this.counts.set(base, n);
    return this.prefix + (n === 1 ? base : `${base}_${n}`);
  }
  child(segment: string): Container {
    return new Container(`${segment}.`, false);
  }
}

function pathSegment(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]/g, "_");
}

export function evaluateArgs(run: Run, stmt: Statement, scope: Scope): WrittenArg[] {
  return (stmt.args ?? []).map((arg) => ({
    name: arg.name?.name ?? null,
    nameSpan: arg.name?.span ?? null,
    span: arg.span,
    expr: arg.value,
    // A positional bare name may be a flag (`causal`); it is read from the syntax, not evaluated.
    value: arg.name === null && arg.value.kind === "Name" ? { t: "word", v: arg.value.name } : run.eval(arg.value, scope, arg.name?.name),
  }));
}

/** Defines a body-level `let`, refusing a second definition in the same scope. */
export function defineLocal(run: Run, stmt: LetStatement, scope: LocalScope, walked: Set<LetStatement>): void {
  const value = run.eval(stmt.value, scope, stmt.name.name);
  const previous = scope.own(stmt.name.name);
  if (previous) {
    run.reporter.report({
      code: "E0101",
      message: `\`${stmt.name.name}\` is already defined in this scope`,
      span: stmt.name.span,
      label: "defined again here",
      labels: [{ span: previous.name.span, message: "first defined here" }],
      help: "use another name, or move one definition into a nested body",
    });
    return;
  }
  walked.add(stmt);
  scope.define({ kind: "local", name: stmt.name, decl: stmt, value });
}

export class ModelExpander {
  readonly draft: ModelDraft = { props: new Map(), layers: [], residuals: [] };
  private readonly blockStack: { decl: BlockDecl; call: Statement }[] = [];
  /** Where each parameter binding of the calls being expanded got its value. */
  private readonly paramSources = new WeakMap<Binding, readonly ParamSource[]>();
  private work = 0;
  /** Set when the expansion limit was hit: the draft is partial and must not be checked further. */
  exhausted = false;

  constructor(
    private readonly run: Run,
    private readonly walkedLets: Set<LetStatement>,
  ) {}

  expand(body: Body, scope: FileScope): ModelDraft {
    this.walk(body, new LocalScope(scope), new Container("", true));
    return this.draft;
  }

  private get reporter() {
    return this.run.reporter;
  }

  private walk(body: Body, scope: LocalScope, container: Container): void {
    for (const stmt of body.statements) {
      if (this.exhausted) return;
      if (++this.work > MAX_EXPANSION) {
        this.exhausted = true;
        this.reporter.report({
          code: "E0211",
          message: `the model expands into more than ${groupDigits(MAX_EXPANSION)} statements`,
          span: stmt.span,
          label: "expansion stopped here",
          notes: ["nested repeats multiply: `repeat 1000 { repeat 1000 { … } }` runs its body a million times"],
          help: "use smaller repeat counts",
        });
        return;
      }
      switch (stmt.kind) {
        case "Let": {
          // A `let` in a block's body (`let h = 4 * width`) passes on the parameters it uses,
          // resolved before it is defined (`let w = w + 1` uses the parameter it hides).
          const sources = this.blockStack.length > 0 ? this.sourcesOf(stmt.value, scope) : [];
          defineLocal(this.run, stmt, scope, this.walkedLets);
          const local = scope.own(stmt.name.name);
          if (sources.length && local?.kind === "local" && local.decl === stmt) this.paramSources.set(local, sources);
          break;
        }
        case "Repeat": {
          const count = this.repeatCount(this.run.eval(stmt.count, scope, "repeat"), stmt.count.span);
          if (count === null) break;
          const segment = container.segment("blocks");
          for (let i = 0; i < count; i++) {
            const inner = new LocalScope(scope);
            if (stmt.index) inner.define({ kind: "index", name: stmt.index, value: { t: "int", v: BigInt(i) } });
            this.walk(stmt.body, inner, container.child(`${segment}.${i}`));
          }
          break;
        }
        case "If": {
          let branch: typeof stmt | Body | null = stmt;
          while (branch && branch.kind === "If") {
            const cond = this.condition(branch.condition, scope);
            if (cond === null) break;
            branch = cond ? branch.then : branch.otherwise;
          }
          if (branch && branch.kind === "Body") this.walk(branch, new LocalScope(scope), container);
          break;
        }
        case "Residual": {
          const start = this.draft.layers.length;
          const errors = this.reporter.errorCount;
          this.walk(stmt.body, new LocalScope(scope), container);
          const end = this.draft.layers.length;
          if (start === end) {
            if (errors === this.reporter.errorCount) {
              this.reporter.report({
                code: "E0408",
                message: "this residual has no layers",
                span: stmt.span,
                label: "x + f(x) needs at least one layer in f",
                help: "add a layer inside, or remove the `residual`",
              });
            }
          } else {
            this.draft.residuals.push({ path: container.segment("residual"), start, end, span: stmt.span });
          }
          break;
        }
        case "Statement":
          this.statement(stmt, scope, container);
          break;
      }
    }
  }

  private condition(expr: import("../../grammar/ast.js").Expr, scope: Scope): boolean | null {
    const value = this.run.eval(expr, scope);
    if (value.t === "error") return null;
    if (value.fromList) {
      this.reporter.report({
        code: "E0209",
        message: "a condition cannot depend on a value list",
        span: expr.span,
        label: "this depends on a sweep",
        labels: [{ span: value.fromList, message: "value list here" }],
        help: "conditions choose the structure of one model; sweep the values inside the branches instead",
      });
      return null;
    }
    if (value.t !== "bool") {
      this.reporter.report({
        code: "E0208",
        message: `an \`if\` condition must be a bool, found ${value.t === "int" ? "an integer" : `a ${value.t}`} ${show(value)}`,
        span: expr.span,
        label: "not true or false",
        help: "compare it, e.g. `i == 6`",
      });
      return null;
    }
    return value.v;
  }

  private repeatCount(value: Value, span: Span): number | null {
    if (value.t === "error") return null;
    if (value.t === "int" && value.v >= 1n && value.v <= BigInt(MAX_REPEAT)) return Number(value.v);
    this.reporter.report({
      code: "E0211",
      message:
        value.t === "int"
          ? `repeat count ${groupDigits(value.v)} is out of range`
          : `repeat count must be a whole number, found ${show(value)}`,
      span,
      label: `must be between 1 and ${groupDigits(MAX_REPEAT)}`,
      help: value.t === "int" && value.v < 1n ? "remove the `repeat` to include its body zero times" : undefined,
    });
    return null;
  }

  private statement(stmt: Statement, scope: LocalScope, container: Container): void {
    const head = stmt.head.name;
    if ((MODEL_PROPERTIES as readonly string[]).includes(head)) return this.property(stmt, scope, container);
    if (isLayerKind(head)) {
      const value = stmt.value ? { value: this.run.eval(stmt.value, scope, "value"), span: stmt.value.span } : null;
      const args = evaluateArgs(this.run, stmt, scope);
      let params = NO_PARAMS;
      if (this.blockStack.length > 0) {
        const found = new Map<Span, readonly ParamSource[]>();
        const written = [...(stmt.value ? [{ span: stmt.value.span, value: stmt.value }] : []), ...(stmt.args ?? [])];
        for (const arg of written) {
          const sources = this.sourcesOf(arg.value, scope);
          if (sources.length) found.set(arg.span, sources);
        }
        params = found;
      }
      this.draft.layers.push({ kind: head, stmt, path: container.segment(head), value, args, calls: this.blockStack.map((b) => b.call), params });
      return;
    }
    const binding = scope.lookup(head);
    if (binding?.kind === "block") return this.invoke(stmt, binding, scope, container);
    if ((TRAIN_SETTINGS as readonly string[]).includes(head)) {
      this.reporter.report({
        code: "E0109",
        message: `\`${head}\` belongs in a \`train\` section`,
        span: stmt.head.span,
        label: "not a model statement",
        help: "move it into `train <model> { … }`",
      });
      return;
    }
    const candidates = [...Object.keys(LAYERS), ...MODEL_PROPERTIES, ...visibleBlocks(scope)];
    const guess = nearest(head, candidates);
    this.reporter.report({
      code: guess && isLayerKind(guess) ? "E0314" : "E0105",
      message: guess && isLayerKind(guess) ? `unknown layer kind \`${head}\`` : `unknown statement \`${head}\``,
      span: stmt.head.span,
      label: binding ? `\`${head}\` is a value, not a block` : "not a layer kind, block or model property",
      help: guess
        ? `did you mean \`${guess}\`?`
        : `layer kinds are ${Object.keys(LAYERS).map((k) => `\`${k}\``).join(", ")}`,
    });
  }

  private property(stmt: Statement, scope: Scope, container: Container): void {
    const head = stmt.head.name;
    if (!container.topLevel || this.blockStack.length > 0) {
      this.reporter.report({
        code: "E0109",
        message: `\`${head}\` must be written directly in the model body`,
        span: stmt.head.span,
        label: "inside a nested body",
        help: "move it to the top of the model",
      });
      return;
    }
    const previous = this.draft.props.get(head);
    if (previous) {
      this.reporter.report({
        code: "E0406",
        message: `\`${head}\` is given twice`,
        span: stmt.span,
        label: "given again here",
        labels: [{ span: previous.stmt.span, message: "first given here" }],
        help: "keep one",
      });
      return;
    }
    if (!stmt.value || stmt.args !== null) {
      this.reporter.report({
        code: "E0206",
        message: `\`${head}\` takes one whole number, e.g. \`${head} ${head === "vocab" ? "32000" : "2048"}\``,
        span: stmt.span,
        label: stmt.value ? "no arguments here" : "value missing",
      });
      return;
    }
    this.draft.props.set(head, { value: this.run.eval(stmt.value, scope, head), span: stmt.value.span, stmt });
  }

  private invoke(stmt: Statement, binding: Extract<Binding, { kind: "block" }>, scope: Scope, container: Container): void {
    const decl = binding.decl;
    const active = this.blockStack.findIndex((b) => b.decl === decl);
    if (active >= 0) {
      const chain = [...this.blockStack.slice(active).map((b) => b.decl.name.name), decl.name.name].join(" → ");
      this.reporter.report({
        code: "E0108",
        message: `block \`${decl.name.name}\` invokes itself (${chain})`,
        span: stmt.head.span,
        label: "recursive invocation",
        labels: this.blockStack.slice(active).map((b) => ({ span: b.call.head.span, message: `\`${b.decl.name.name}\` invoked here` })),
        help: "blocks expand at compile time; use `repeat` for depth",
      });
      return;
    }
    if (stmt.value) {
      this.reporter.report({
        code: "E0312",
        message: `block \`${decl.name.name}\` takes arguments in parentheses only`,
        span: stmt.value.span,
        label: "unexpected value",
        help: `write \`${decl.name.name}(${decl.params.map((p) => `${p.name.name}: …`).join(", ")})\``,
      });
      return;
    }
    const params = decl.params.map((p) => p.name.name);
    const given = new Map<string, { value: Value; span: Span; arg: Argument }>();
    let ok = true;
    let position = 0;
    for (const arg of stmt.args ?? []) {
      let name: string;
      if (arg.name === null) {
        if (position >= params.length) {
          this.reporter.report({
            code: "E0113",
            message: `block \`${decl.name.name}\` takes ${params.length} argument${params.length === 1 ? "" : "s"}, this is number ${position + 1}`,
            span: arg.span,
            label: "one too many",
            labels: [{ span: decl.name.span, message: "block defined here" }],
            help: params.length ? `its parameters are ${params.map((p) => `\`${p}\``).join(", ")}` : "remove the arguments",
          });
          ok = false;
          continue;
        }
        name = params[position++]!;
      } else {
        name = arg.name.name;
      }
      const span = arg.name?.span ?? arg.span;
      if (!params.includes(name)) {
        this.reporter.report({
          code: "E0110",
          message: `block \`${decl.name.name}\` has no parameter \`${name}\``,
          span,
          label: "unknown argument",
          labels: [{ span: decl.name.span, message: "block defined here" }],
          help: params.length ? didYouMean(name, params, "its parameters are") : "this block takes no arguments",
        });
        ok = false;
        continue;
      }
      if (given.has(name)) {
        this.reporter.report({
          code: "E0112",
          message: `argument \`${name}\` is given twice`,
          span,
          label: "given again here",
          labels: [{ span: given.get(name)!.span, message: "first given here" }],
          help: "remove one of them",
        });
        ok = false;
        continue;
      }
      given.set(name, { value: this.run.eval(arg.value, scope, name), span, arg });
    }
    if (!ok) return;
    for (const param of decl.params) {
      if (!given.has(param.name.name) && !param.default) {
        this.reporter.report({
          code: "E0111",
          message: `block \`${decl.name.name}\` needs \`${param.name.name}\``,
          span: stmt.argsSpan ?? stmt.head.span,
          label: `\`${param.name.name}\` missing`,
          labels: [{ span: param.name.span, message: "parameter without a default" }],
          help: `add \`${param.name.name}: …\``,
        });
        ok = false;
      }
    }
    if (!ok) return;
    // Defaults are evaluated where the block is defined and may use earlier parameters.
    const inner = new LocalScope(binding.file);
    for (const param of decl.params) {
      const arg = given.get(param.name.name);
      const value = arg ? arg.value : this.run.eval(param.default!, inner, param.name.name);
      const binding: Binding = { kind: "param", name: param.name, value };
      inner.define(binding);
      const expr = arg ? arg.arg.value : param.default!;
      const inherited = this.sourcesOf(expr, arg ? scope : inner);
      // A bare parameter passed on (`w: w`) only forwards; anything else is written here too.
      const own: ParamSource = { param: param.name.name, how: arg ? "argument" : "default", span: arg ? arg.arg.span : param.default!.span };
      this.paramSources.set(binding, expr.kind === "Name" && inherited.length ? inherited : [...inherited, own]);
    }
    this.blockStack.push({ decl, call: stmt });
    this.walk(decl.body, new LocalScope(inner), container.child(container.segment(pathSegment(decl.name.name))));
    this.blockStack.pop();
  }

  /** The sources of the block parameters `expr` uses (in `scope`), each once, in order of first use. */
  private sourcesOf(expr: Expr, scope: Scope): ParamSource[] {
    const out: ParamSource[] = [];
    const visit = (e: Expr): void => {
      switch (e.kind) {
        case "Name": {
          const binding = scope.lookup(e.name);
          for (const source of (binding && this.paramSources.get(binding)) ?? []) if (!out.includes(source)) out.push(source);
          break;
        }
        case "Unary":
          return visit(e.operand);
        case "Binary":
          visit(e.left);
          return visit(e.right);
        case "Paren":
          return visit(e.inner);
        case "Tuple":
        case "List":
          return e.items.forEach(visit);
        default:
          break;
      }
    };
    visit(expr);
    return out;
  }
}

function visibleBlocks(scope: Scope): string[] {
  let root: Scope = scope;
  while (root instanceof LocalScope) root = root.parent;
  if (!(root instanceof FileScope)) return [];
  return [...root.names.values()].filter((b) => b.kind === "block").map((b) => b.name.name);
}
