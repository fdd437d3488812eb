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

export async function fmtCommand(io: CliIO, files: string[], options: { mode: "print" | "check" | "write" }): Promise<number> {
  requireFiles(io, files);
  let exit = EXIT_OK;
  for (const file of files) {
    const full = path.resolve(io.cwd, file);
    const source: SourceFile = { path: file, text: fs.readFileSync(full, "utf8") };
    const parsed = parseSpec(source);
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
    const formatted = formatSpec(parsed.file, source);
    if (formatted === null) {
      exit = EXIT_SPEC_ERRORS;
      continue;
    }
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
