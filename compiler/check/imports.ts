/**
 * Loading a program: entry files and everything they import, parsed once
 * each. Import paths are relative to the importing file; missing files and
 * cycles are reported at the import string.
 */
import * as path from "node:path";
import type { ImportDecl, SpecFile } from "../../grammar/ast.js";
import { parseSpec } from "../../grammar/parse.js";
import { SpanFactory, type SourceFile } from "../../diagnostics/source.js";
import { diagnostic, type Diagnostic } from "../../diagnostics/diagnostic.js";
import type { FileHost } from "./host.js";
import type { Reporter } from "./report.js";

export interface LoadedFile {
  /** Normalised path, as messages show it. */
  readonly path: string;
  readonly source: SourceFile;
  readonly ast: SpecFile;
  readonly entry: boolean;
  /** Each import and the file it resolved to (null when missing or cyclic). */
  readonly imports: { decl: ImportDecl; file: LoadedFile | null }[];
}

export interface LoadedProgram {
  /** In load order: a file comes after the files it imports. */
  readonly files: LoadedFile[];
  readonly syntax: Diagnostic[];
}

export function normalizePath(p: string): string {
  const forward = p.replace(/\\/g, "/");
  const normal = path.posix.normalize(forward);
  return normal.startsWith("./") ? normal.slice(2) : normal;
}

export function resolveImport(importer: string, target: string): string {
  const t = target.replace(/\\/g, "/");
  if (path.posix.isAbsolute(t) || /^[A-Za-z]:\//.test(t)) return normalizePath(t);
  return normalizePath(path.posix.join(path.posix.dirname(normalizePath(importer)), t));
}

export function loadProgram(entries: readonly string[], host: FileHost, reporter: Reporter): LoadedProgram {
  /** Loaded files by identity (real path): one file reached through two paths is read once. */
  const byIdentity = new Map<string, LoadedFile>();
  const identityOf = (file: string) => host.identity?.(file) ?? file;
  const files: LoadedFile[] = [];
  const syntax: Diagnostic[] = [];
  const stack: { file: string; id: string; via: ImportDecl | null }[] = [];

  const load = (file: string, text: string, entry: boolean): LoadedFile => {
    const source: SourceFile = { path: file, text };
    const badByte = host.invalidUtf8?.(file);
    const parsed =
      badByte === undefined
        ? parseSpec(source)
        : { file: { kind: "File" as const, path: file, declarations: [], comments: [], span: new SpanFactory(source).span(0, 0) }, diagnostics: [notUtf8(source, badByte)] };
    syntax.push(...parsed.diagnostics);
    const loaded: LoadedFile = { path: file, source, ast: parsed.file, entry, imports: [] };
    const id = identityOf(file);
    byIdentity.set(id, loaded);
    stack.push({ file, id, via: null });
    // A file with syntax errors is not checked, so its (possibly garbled) imports are not followed.
    const broken = parsed.diagnostics.some((d) => d.severity === "error");
    for (const decl of parsed.file.declarations) {
      if (decl.kind !== "Import" || broken) continue;
      stack[stack.length - 1]!.via = decl;
      loaded.imports.push({ decl, file: follow(loaded, decl) });
    }
    stack.pop();
    files.push(loaded);
    return loaded;
  };

  const follow = (importer: LoadedFile, decl: ImportDecl): LoadedFile | null => {
    const written = decl.path.value;
    if (written.length === 0 || written.includes("\0")) {
      reporter.report({
        code: "E0106",
        message: written.length === 0 ? "the import path is empty" : "the import path contains a NUL character",
        span: decl.path.span,
        label: "not a file name",
        help: 'write a path relative to this file, e.g. `import "blocks.peer"`',
      });
      return null;
    }
    const target = resolveImport(importer.path, written);
    const targetId = identityOf(target);
    const onStack = stack.findIndex((s) => s.id === targetId);
    if (onStack >= 0) {
      const cycle = [...stack.slice(onStack).map((s) => s.file), target];
      reporter.report({
        code: "E0104",
        message: `import cycle: ${cycle.join(" → ")}`,
        span: decl.path.span,
        label: `imports ${target}, which is being loaded`,
        labels: stack
          .slice(onStack, -1)
          .filter((s) => s.via)
          .map((s) => ({ span: s.via!.path.span, message: `${s.file} imports ${resolveImport(s.file, s.via!.path.value)}` })),
        help: "move the shared declarations into a third file that both import",
      });
      return null;
    }
    const known = byIdentity.get(targetId);
    if (known) return known;
    const text = host.readFile(target);
    if (text === undefined) {
      reporter.report({
        code: "E0103",
        message: `cannot find imported file \`${written}\``,
        span: decl.path.span,
        label: `looked for ${target}`,
        help: "import paths are relative to the folder of the importing file",
      });
      return null;
    }
    return load(target, text, false);
  };

  for (const entry of entries) {
    const file = normalizePath(entry);
    const existing = byIdentity.get(identityOf(file));
    if (existing) {
      (existing as { entry: boolean }).entry = true;
      continue;
    }
    const text = host.readFile(file);
    if (text === undefined) {
      reporter.report({ code: "E0103", message: `cannot read \`${entry}\``, notes: ["the file does not exist or is not readable"] });
      continue;
    }
    load(file, text, true);
  }
  return { files, syntax };
}

/** A file that is not UTF-8 is not parsed: its text is not what the user sees in an editor. */
function notUtf8(source: SourceFile, offset: number): Diagnostic {
  return diagnostic({
    code: "E0007",
    message: "the file is not valid UTF-8",
    span: new SpanFactory(source).span(offset, 1),
    label: "the bytes here are not UTF-8",
    help: "save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`); specs are read as UTF-8 only",
  });
}
