/**
 * Top-level names. Each file sees its own lets and blocks plus those of every
 * file it imports (transitively); a name defined twice — in one file or across
 * files — is an error showing both places. Model names are one namespace for
 * the whole program, so a report never shows two models of the same name.
 */
import type { Declaration, ModelDecl } from "../../grammar/ast.js";
import type { LoadedFile } from "./imports.js";
import type { Reporter } from "./report.js";
import { FileScope, type Binding } from "./scope.js";

export interface ModelEntry {
  readonly decl: ModelDecl;
  readonly file: LoadedFile;
}

export class ProgramScope extends FileScope {
  /** Models visible from this file (its own and imported ones). */
  readonly models = new Map<string, ModelEntry>();
}

export interface Scopes {
  readonly files: Map<LoadedFile, ProgramScope>;
  /** Every model of the program once, in load order. */
  readonly models: ModelEntry[];
  /** Declarations refused as duplicates (not bound, so not warned about as unused). */
  readonly rejected: Set<Declaration>;
}

export function buildScopes(files: readonly LoadedFile[], reporter: Reporter): Scopes {
  const own = new Map<LoadedFile, ProgramScope>();
  const allModels: ModelEntry[] = [];
  const modelNames = new Map<string, ModelEntry>();
  const rejected = new Set<Declaration>();
  for (const file of files) {
    const scope = new ProgramScope(file.path);
    for (const decl of file.ast.declarations) {
      if (decl.kind === "Model") {
        const first = modelNames.get(decl.name.name);
        if (first) {
          reporter.report({
            code: "E0107",
            message: `model \`${decl.name.name}\` is defined twice`,
            span: decl.name.span,
            label: "defined again here",
            labels: [{ span: first.decl.name.span, message: `first defined here${first.file === file ? "" : ` (${first.file.path})`}` }],
            help: "give each model its own name",
          });
          continue;
        }
        const entry = { decl, file };
        modelNames.set(decl.name.name, entry);
        allModels.push(entry);
        scope.models.set(decl.name.name, entry);
        continue;
      }
      const binding = bindingOf(decl, scope);
      if (!binding) continue;
      const previous = scope.names.get(binding.name.name);
      if (previous) {
        reporter.report({
          code: "E0101",
          message: `\`${binding.name.name}\` is already defined in this file`,
          span: binding.name.span,
          label: "defined again here",
          labels: [{ span: previous.name.span, message: "first defined here" }],
          help: "rename one of them",
        });
        rejected.add(decl);
        continue;
      }
      scope.names.set(binding.name.name, binding);
    }
    own.set(file, scope);
  }

  // Files come after their imports in load order, so imported scopes are complete when merged.
  const full = new Map<LoadedFile, ProgramScope>();
  for (const file of files) {
    const scope = own.get(file)!;
    for (const imp of file.imports) {
      if (!imp.file) continue;
      const imported = full.get(imp.file) ?? own.get(imp.file)!;
      for (const [name, binding] of imported.names) {
        const existing = scope.names.get(name);
        if (existing && existing !== binding) {
          const fromHere = existing.name.span.file === file.path;
          reporter.report({
            code: "E0102",
            message: `\`${name}\` is defined in ${existing.name.span.file} and in ${binding.name.span.file}`,
            span: fromHere ? existing.name.span : imp.decl.path.span,
            label: fromHere ? `also defined in ${binding.name.span.file}` : `brings in a second \`${name}\``,
            labels: [
              ...(fromHere ? [] : [{ span: existing.name.span, message: "one definition" }]),
              { span: binding.name.span, message: fromHere ? "imported definition" : "other definition" },
            ],
            help: "rename one of them; names are shared across imports",
          });
          continue;
        }
        scope.names.set(name, binding);
      }
      for (const [name, model] of imported.models) if (!scope.models.has(name)) scope.models.set(name, model);
    }
    full.set(file, scope);
  }
  return { files: full, models: allModels, rejected };
}

function bindingOf(decl: Declaration, scope: FileScope): Binding | null {
  if (decl.kind === "Let") return { kind: "let", name: decl.name, decl, file: scope };
  if (decl.kind === "Block") return { kind: "block", name: decl.name, decl, file: scope };
  return null;
}
