/** `peerc fmt FILE… [--check|--write]`: one canonical layout; refuses files with syntax errors. */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CliIO } from "../io.js";
import { wantsColor } from "../io.js";
import { EXIT_OK, EXIT_SPEC_ERRORS } from "../../../diagnostics/errors.js";
import { requireFiles } from "../load.js";
import { parseSpec } from "../../../grammar/parse.js";
import { formatSpec } from "../../../grammar/printer.js";
import { renderDiagnostics } from "../../../diagnostics/render.js";
import type { SourceFile } from "../../../diagnostics/source.js";
import { decodeUtf8, type FileHost } from "../../check/host.js";
import { loadProgram } from "../../check/imports.js";
import { Reporter } from "../../check/report.js";

export async function fmtCommand(io: CliIO, files: string[], options: { mode: "print" | "check" | "write" }): Promise<number> {
  requireFiles(io, files);
  let exit = EXIT_OK;
  for (const file of files) {
    const full = path.resolve(io.cwd, file);
    const bytes = fs.readFileSync(full);
    const { text, invalidAt } = decodeUtf8(bytes);
    const source: SourceFile = { path: file, text };
    // Invalid UTF-8 is refused, never "repaired": writing the decoded text back would replace those bytes with U+FFFD.
    const host: FileHost = { readFile: () => text, invalidUtf8: () => invalidAt };
    const parsed = invalidAt === undefined ? parseSpec(source) : { file: null, diagnostics: loadProgram([file], host, new Reporter()).syntax };
    if (parsed.diagnostics.some((d) => d.severity === "error")) {
      io.stderr(
        renderDiagnostics(parsed.diagnostics, new Map([[file, source]]), {
          format: "human",
          color: wantsColor(io, "stderr"),
          maxErrors: 50,
        }),
      );
      io.stderr(`peerc fmt: ${file} not formatted: fix the syntax errors first\n`);
      exit = EXIT_SPEC_ERRORS;
      continue;
    }
    if (parsed.file === null) continue;
    const layout = formatSpec(parsed.file, source);
    if (layout === null) {
      exit = EXIT_SPEC_ERRORS;
      continue;
    }
    const formatted = keepEncoding(source.text, layout);
    if (options.mode === "print") io.stdout(formatted);
    else if (formatted !== source.text) {
      if (options.mode === "check") {
        io.stderr(`${file}: not formatted (run: peerc fmt --write ${file})\n`);
        exit = EXIT_SPEC_ERRORS;
      } else {
        writeAtomically(full, formatted);
        io.stderr(`formatted ${file}\n`);
      }
    }
  }
  return exit;
}

/** Temp file + rename: an interrupted write never leaves half a spec behind. */
function writeAtomically(file: string, text: string): void {
  const temp = `${file}.peerc-fmt-${process.pid}.tmp`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
}

/**
 * What the layout does not decide stays as it was: a byte-order mark, and
 * CRLF line ends when the file uses them (the printer writes LF).
 */
export function keepEncoding(original: string, formatted: string): string {
  let out = formatted.startsWith("\uFEFF") ? formatted.slice(1) : formatted;
  const firstBreak = /\r\n|\n|\r/.exec(original);
  if (firstBreak?.[0] === "\r\n") out = out.replace(/\r?\n/g, "\r\n");
  if (original.startsWith("\uFEFF")) out = "\uFEFF" + out;
  return out;
}
