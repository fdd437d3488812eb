/**
 * The in-process `tsc --strict` of emitted code, before anything is written:
 * a TypeScript program (ts-morph's bundled compiler) over the emitted .ts
 * files held in memory at their future paths, with `peerc/runtime` mapped to
 * the runtime's types. Also turns the .ts into the .js that `node` runs.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Project, ts } from "ts-morph";
import { peercRoot, runtimeTypesEntry } from "./package-root.js";

export interface TypecheckProblem {
  /** File name relative to the output folder. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly code: number;
  readonly message: string;
}

/**
 * Why the check cannot run here, or null when it can. An installed peerc has
 * no devDependencies, so @types/node (which train.ts needs) may be missing.
 */
export function typecheckUnavailable(root = peercRoot()): string | null {
  const nodeTypes = path.join(root, "node_modules", "@types", "node", "package.json");
  if (!fs.existsSync(nodeTypes)) return "@types/node is not installed next to peerc (npm install -D @types/node)";
  const tfjsTypes = path.join(root, "node_modules", "@tensorflow", "tfjs", "dist", "index.d.ts");
  if (!fs.existsSync(tfjsTypes)) return "@tensorflow/tfjs's type declarations are missing";
  return null;
}

/** Compiler options of the check: `tsc --strict` plus what Node ESM needs. */
function strictOptions(root: string): ts.CompilerOptions {
  return {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    // The trainer folder is always an ES module scope (runtime-link.ts makes it one), so check it as ESM
    // whatever the package.json around it says today; "bundler" still honours package "exports".
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2022.d.ts"],
    types: ["node"],
    typeRoots: [path.join(root, "node_modules", "@types")],
    skipLibCheck: true,
    esModuleInterop: true,
    noImplicitOverride: true,
    noFallthroughCasesInSwitch: true,
    // Emitted code imports tfjs itself; outside a project the output folder links it (runtime-link.ts).
    paths: { "peerc/runtime": [runtimeTypesEntry(root)], "@tensorflow/tfjs": [path.join(root, "node_modules", "@tensorflow", "tfjs", "dist", "index.d.ts")] },
  };
}

/**
 * Type-checks `files` (name → text) as if they were in `outDir`. Returns every
 * problem in the emitted files; problems inside the runtime are not ours to
 * report here (the runtime has its own type-check).
 */
export function typecheckEmitted(outDir: string, files: ReadonlyMap<string, string>): TypecheckProblem[] {
  return typecheckFolders(new Map([[outDir, files]]));
}

/** Several trainer folders in one program: the runtime and tfjs types are read once. */
export function typecheckFolders(folders: ReadonlyMap<string, ReadonlyMap<string, string>>): TypecheckProblem[] {
  const root = peercRoot();
  const project = new Project({ compilerOptions: strictOptions(root), skipAddingFilesFromTsConfig: true });
  const emitted = new Map<string, string>();
  for (const [outDir, files] of folders) {
    const dir = path.resolve(outDir);
    for (const [name, text] of files) {
      if (!name.endsWith(".ts")) continue;
      const full = path.join(dir, name);
      project.createSourceFile(full, text, { overwrite: true });
      emitted.set(path.normalize(full), dir);
    }
  }
  const problems: TypecheckProblem[] = [];
  for (const d of project.getPreEmitDiagnostics()) {
    const source = d.getSourceFile();
    const file = source ? path.normalize(source.getFilePath()) : null;
    const dir = file === null ? null : emitted.get(file);
    if (file !== null && dir === undefined) continue;
    const start = d.getStart() ?? 0;
    const pos = source ? source.getLineAndColumnAtPos(start) : { line: 0, column: 0 };
    problems.push({
      file: file && dir ? path.relative(folders.size > 1 ? path.dirname(dir) : dir, file).split(path.sep).join("/") : "(program)",
      line: pos.line,
      column: pos.column,
      code: d.getCode(),
      message: ts.flattenDiagnosticMessageText(d.compilerObject.messageText, "\n"),
    });
  }
  return problems;
}

export function formatProblems(problems: readonly TypecheckProblem[]): string {
  return problems.map((p) => `${p.file}:${p.line}:${p.column}: error TS${p.code}: ${p.message}`).join("\n");
}

/** The JavaScript `node` runs: types erased, ESM kept, one file at a time (no cross-file emit state). */
export function transpile(name: string, text: string): string {
  const out = ts.transpileModule(text, {
    fileName: name,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ES2022,
      removeComments: false,
      newLine: ts.NewLineKind.LineFeed,
      verbatimModuleSyntax: false,
    },
  });
  return out.outputText;
}
