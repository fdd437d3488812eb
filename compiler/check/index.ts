/**
 * compiler/check: AST → IR. Loads the entry files and their imports, resolves
 * names, folds constants, expands blocks, repeats, conditions and sweeps,
 * validates every layer, train and budget section, and returns the models that
 * checked clean with all diagnostics, sorted.
 */
import type { BudgetDecl, LetDecl, ModelDecl, TrainDecl } from "../../grammar/ast.js";
import type { SourceFile } from "../../diagnostics/source.js";
import { hasErrors, sortDiagnostics, type Diagnostic } from "../../diagnostics/diagnostic.js";
import type { IRBudget, IRModel, IRProgram, IRTrain } from "../../ir/types.js";
import { checkBudget } from "./budget.js";
import { Run, type UsageSet } from "./evaluate.js";
import { ModelExpander } from "./expand.js";
import { specHash } from "./hash.js";
import { nodeFileHost, type FileHost } from "./host.js";
import { loadProgram, normalizePath, type LoadedFile } from "./imports.js";
import { assembleModel, type AssembledModel } from "./model.js";
import { Reporter } from "./report.js";
import { buildScopes, type ModelEntry } from "./names.js";
import { enumerateVariants, MAX_VARIANTS, sweepValue } from "./sweep.js";
import { checkTrain, horizonSpan } from "./train.js";
import { layerCost } from "../cost/index.js";
import { modelTotals, tokensPerPassOf, trainCost } from "../cost/totals.js";
import { nearest } from "./suggest.js";
import { compactNumber, groupDigits } from "./values.js";
import type { LetStatement } from "../../grammar/ast.js";

export { nodeFileHost, type FileHost } from "./host.js";

export interface CheckResult {
  program: IRProgram;
  diagnostics: Diagnostic[];
  sources: Map<string, SourceFile>;
  /**
   * Declared names of the models left out of `program` because of an error
   * in them (a sweep is left out whole when any variant fails). The other
   * models are checked and usable (`report`, `compile --model`).
   */
  modelsWithErrors: string[];
}


export function checkSource(path: string, text: string, host: FileHost = nodeFileHost): CheckResult {
  const own = normalizePath(path);
  return checkFiles([path], {
    readFile: (p) => (normalizePath(p) === own ? text : host.readFile(p)),
    identity: host.identity ? (p) => host.identity!(p) : undefined,
    invalidUtf8: (p) => (normalizePath(p) === own ? undefined : host.invalidUtf8?.(p)),
  });
}

export function checkFiles(paths: string[], host: FileHost = nodeFileHost): CheckResult {
  const reporter = new Reporter();
  const sources = new Map<string, SourceFile>();
  let models: IRModel[] = [];
  let syntax: Diagnostic[] = [];
  const failed: string[] = [];
  try {
    const program = loadProgram(paths, host, reporter);
    for (const file of program.files) sources.set(file.path, file.source);
    syntax = program.syntax;
    if (!hasErrors(syntax)) models = checkProgram(program.files, reporter, failed);
  } catch (error) {
    // A bug must come out as a located message, never a stack trace.
    reporter.report({
      code: "E0199",
      message: `internal error in the checker: ${error instanceof Error ? error.message : String(error)}`,
      notes: ["this is a bug in peerc, not in the spec; please report it with the file"],
    });
    models = [];
  }
  const diagnostics = sortDiagnostics([...syntax, ...reporter.unique()]);
  return { program: { files: [...paths], models }, diagnostics, sources, modelsWithErrors: failed };
}

interface Sections {
  train: Map<ModelDecl, { decl: TrainDecl; file: LoadedFile }>;
  budgets: Map<ModelDecl, { decl: BudgetDecl; file: LoadedFile }[]>;
}

function checkProgram(files: readonly LoadedFile[], reporter: Reporter, failed: string[]): IRModel[] {
  const scopes = buildScopes(files, reporter);
  const usage: UsageSet = new Set();
  const walked = new Set<LetStatement>();

  // Every top-level let is evaluated once, so an error in an unused one is still reported.
  for (const file of files) {
    const run = new Run(reporter, new Set());
    const scope = scopes.files.get(file)!;
    for (const decl of file.ast.declarations) {
      if (decl.kind === "Let") run.topLevelLet(decl, scope, decl.name.span);
    }
  }

  const sections = attachSections(files, scopes.files, reporter);
  const out: IRModel[] = [];
  for (const entry of scopes.models) {
    const before = reporter.errorCount;
    try {
      // A sweep keeps its clean variants; the model is named among those with errors all the same.
      out.push(...checkModel(entry, sections, scopes.files, reporter, usage, walked));
      if (reporter.errorCount !== before) failed.push(entry.decl.name.name);
    } catch (error) {
      failed.push(entry.decl.name.name);
      // A bug must come out as a located message, never a stack trace; the other models still check.
      reporter.report({
        code: "E0199",
        message: `internal error in the checker: ${error instanceof Error ? error.message : String(error)}`,
        span: entry.decl.name.span,
        label: "while checking this model",
        notes: ["this is a bug in peerc, not in the spec; please report it with the file"],
      });
    }
  }
  for (const decl of scopes.rejected) if (decl.kind === "Let") usage.add(decl);
  warnUnused(files, usage, walked, reporter);
  return out;
}

function attachSections(
  files: readonly LoadedFile[],
  scopes: ReturnType<typeof buildScopes>["files"],
  reporter: Reporter,
): Sections {
  const sections: Sections = { train: new Map(), budgets: new Map() };
  for (const file of files) {
    const scope = scopes.get(file)!;
    for (const decl of file.ast.declarations) {
      if (decl.kind !== "Train" && decl.kind !== "Budget") continue;
      const target = scope.models.get(decl.model.name);
      if (!target) {
        const guess = nearest(decl.model.name, scope.models.keys());
        reporter.report({
          code: "E0501",
          message: `\`${decl.kind.toLowerCase()}\` for unknown model \`${decl.model.name}\``,
          span: decl.model.span,
          label: "no model of this name here",
          help: guess
            ? `did you mean \`${guess}\`?`
            : scope.models.size
              ? `models in scope: ${[...scope.models.keys()].map((m) => `\`${m}\``).join(", ")}`
              : "define the model in this file or import the file that defines it",
        });
        continue;
      }
      if (decl.kind === "Train") {
        const previous = sections.train.get(target.decl);
        if (previous) {
          reporter.report({
            code: "E0502",
            message: `model \`${decl.model.name}\` has two train sections`,
            span: decl.model.span,
            label: "second train section",
            labels: [{ span: previous.decl.model.span, message: "first train section" }],
            help: "merge them into one",
          });
          continue;
        }
        sections.train.set(target.decl, { decl, file });
      } else {
        const list = sections.budgets.get(target.decl) ?? [];
        list.push({ decl, file });
        sections.budgets.set(target.decl, list);
      }
    }
  }
  return sections;
}

interface VariantResult {
  assembled: AssembledModel | null;
  train: IRTrain | null;
  budgets: IRBudget[];
  clean: boolean;
  run: Run;
}

function checkModel(
  entry: ModelEntry,
  sections: Sections,
  scopes: ReturnType<typeof buildScopes>["files"],
  reporter: Reporter,
  usage: UsageSet,
  walked: Set<LetStatement>,
): IRModel[] {
  const { decl, file } = entry;
  const scope = scopes.get(file)!;
  const train = sections.train.get(decl);
  const budgets = sections.budgets.get(decl) ?? [];
  const enumeration = enumerateVariants<VariantResult>((selection) => {
    const run = new Run(reporter, usage, selection);
    const before = reporter.errorCount;
    const expander = new ModelExpander(run, walked);
    const draft = expander.expand(decl.body, scope);
    const assembled = expander.exhausted ? null : assembleModel(decl, draft, reporter);
    const irTrain = train ? checkTrain(train.decl, assembled?.context ?? 1, scopes.get(train.file)!, run, walked) : null;
    const irBudgets: IRBudget[] = [];
    for (const b of budgets) irBudgets.push(...(checkBudget(b.decl, scopes.get(b.file)!, run) ?? []));
    return {
      result: { assembled, train: irTrain, budgets: irBudgets, clean: reporter.errorCount === before, run },
      axes: run.discovered,
    };
  });
  if (!enumeration.ok) {
    reporter.report({
      code: "E0212",
      message: `model \`${decl.name.name}\` expands into ${enumeration.count > 10_000 ? "more than 10,000" : `at least ${groupDigits(enumeration.count)}`} variants, above the limit of ${MAX_VARIANTS}`,
      span: decl.name.span,
      label: "too many combinations",
      labels: enumeration.axes.map((a) => ({ span: a.span, message: `${a.size} values (${a.name})` })),
      help: "sweep fewer values at once, or split the sweep into several models",
    });
    return [];
  }
  const out: IRModel[] = [];
  for (const variant of enumeration.variants) {
    if (!variant.clean || !variant.assembled) continue;
    const run = variant.run;
    const sweep = run.discovered.length
      ? run.discovered.map((a) => ({ name: a.name, value: sweepValue(run.picked.get(a.key)), span: a.span }))
      : null;
    const name = sweep ? `${decl.name.name}[${sweep.map((s) => `${s.name}=${s.value}`).join(",")}]` : decl.name.name;
    const model = {
      name,
      baseName: decl.name.name,
      sweep,
      file: file.path,
      span: decl.span,
      vocab: variant.assembled.vocab,
      context: variant.assembled.context,
      dModel: variant.assembled.dModel,
      layers: variant.assembled.layers,
      residuals: variant.assembled.residuals,
      train: variant.train,
      budgets: variant.budgets,
    };
    if (!horizonGivesSteps(model, reporter)) continue;
    const checked: IRModel = { ...model, hash: specHash(model) };
    propOrigins.set(checked, variant.assembled.propSpans);
    layerOriginsOf.set(checked, variant.assembled.layerOrigins);
    out.push(checked);
  }
  return out;
}

const propOrigins = new WeakMap<IRModel, AssembledModel["propSpans"]>();

/** Where a checked model's vocab, context and d_model were written (for `peerc show`). */
export function modelOrigins(model: IRModel): AssembledModel["propSpans"] | undefined {
  return propOrigins.get(model);
}

const layerOriginsOf = new WeakMap<IRModel, AssembledModel["layerOrigins"]>();

/** Per layer of a checked model (by index): the block calls it came through and where block parameters were written (for `peerc show`). */
export function layerOrigins(model: IRModel): AssembledModel["layerOrigins"] | undefined {
  return layerOriginsOf.get(model);
}

export type { LayerCall, LayerOrigins } from "./model.js";
export type { ParamSource } from "./expand.js";
export { trainOrigins, type TrainOrigins } from "./train.js";

/** Most optimizer steps a run can count exactly (the trainer's step counter is a double). */
const MAX_STEPS = Number.MAX_SAFE_INTEGER;

/**
 * A FLOP horizon becomes a whole number of steps only through the cost model:
 * a budget below one step (the trainer would silently run one) or above any
 * countable number of steps is an error at the `flops` value.
 */
function horizonGivesSteps(model: Omit<IRModel, "hash">, reporter: Reporter): boolean {
  const train = model.train;
  if (!train || train.horizon.kind !== "flops") return true;
  let perStep: number;
  try {
    // Only the training FLOPs per token are needed, not the whole report (memory, rooflines): as costModel, but lean.
    const ir: IRModel = { ...model, hash: "" };
    const closing = new Map<number, number>();
    for (const r of ir.residuals) if (r.end > r.start) closing.set(r.end - 1, (closing.get(r.end - 1) ?? 0) + 1);
    const layers = ir.layers.map((l, i) => layerCost(l, ir, closing.get(i) ?? 0));
    perStep = trainCost(train, layers, modelTotals(layers, tokensPerPassOf(ir))).flopsPerStep;
  } catch {
    return true; // a layer without a cost formula is reported where costs are needed (E0690)
  }
  const steps = perStep > 0 ? Math.floor(train.horizon.flops / perStep) : 0;
  if (steps >= 1 && steps <= MAX_STEPS) return true;
  const span = horizonSpan(train) ?? train.span;
  const few = steps < 1;
  reporter.report({
    code: "E0513",
    message: few
      ? `\`flops ${compactNumber(train.horizon.flops)}\` buys no optimizer step of model \`${model.name}\``
      : `\`flops ${compactNumber(train.horizon.flops)}\` gives more steps than a run can count`,
    span,
    label: few
      ? `one step costs ${compactNumber(perStep)} FLOPs`
      : `about ${compactNumber(steps)} steps, above ${groupDigits(MAX_STEPS)}`,
    help: few
      ? `give at least ${compactNumber(perStep)} FLOPs, or the horizon as \`steps\` or \`tokens\``
      : "give a smaller budget, or the horizon as `steps` or `tokens`",
  });
  return false;
}

function warnUnused(files: readonly LoadedFile[], usage: UsageSet, walked: Set<LetStatement>, reporter: Reporter): void {
  // Top-level lets of a file without models are exports for importers, not candidates for removal.
  const entryFiles = new Set(files.filter((f) => f.entry).map((f) => f.path));
  const libraries = new Set(files.filter((f) => !f.ast.declarations.some((d) => d.kind === "Model")).map((f) => f.path));
  const unused = (decl: LetDecl | LetStatement) => {
    if (usage.has(decl) || decl.name.name.startsWith("_") || !entryFiles.has(decl.span.file)) return;
    reporter.report({
      code: "W0101",
      message: `\`${decl.name.name}\` is never used`,
      span: decl.name.span,
      label: "defined here",
      help: `remove it, or name it \`_${decl.name.name}\` to keep it`,
    });
  };
  for (const file of files) {
    if (libraries.has(file.path)) continue;
    for (const decl of file.ast.declarations) if (decl.kind === "Let") unused(decl);
  }
  for (const decl of walked) unused(decl);
}

