/**
 * Canonical layout of emitted TypeScript, by the TypeScript formatter that
 * ships inside ts-morph: the emitters write code as plain text, and this pass
 * fixes spacing and indentation, so two emitters cannot disagree on style and
 * the bytes depend on the code alone.
 */
import { IndentationText, NewLineKind, Project, QuoteKind, ts } from "ts-morph";

let project: Project | null = null;
/** Each call formats a fresh file name: reusing one lets the language service apply edits to a stale snapshot. */
let counter = 0;

function formatterProject(): Project {
  project ??= new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: {
      indentationText: IndentationText.TwoSpaces,
      newLineKind: NewLineKind.LineFeed,
      quoteKind: QuoteKind.Double,
      useTrailingCommas: true,
    },
  });
  return project;
}

export function formatTypeScript(text: string): string {
  const p = formatterProject();
  const file = p.createSourceFile(`/format-${++counter}.ts`, text);
  file.formatText({
    indentSize: 2,
    tabSize: 2,
    convertTabsToSpaces: true,
    insertSpaceAfterOpeningAndBeforeClosingNonemptyBraces: true,
    semicolons: ts.SemicolonPreference.Insert,
    ensureNewLineAtEndOfFile: true,
  });
  const out = file.getFullText();
  p.removeSourceFile(file);
  return out.replace(/[ \t]+$/gm, "").replace(/\n{3,}/g, "\n\n");
}
