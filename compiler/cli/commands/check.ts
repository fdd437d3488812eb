/** `peerc check FILE…`: diagnostics only. */
import * as path from "node:path";
import { realIdentity } from "../../check/host.js";
import type { CliIO } from "../io.js";
import { EXIT_OK, EXIT_SPEC_ERRORS } from "../../../diagnostics/errors.js";
import { checkSpecs, printDiagnostics, type DiagnosticFormat } from "../load.js";
import { renderDiagnostics } from "../../../diagnostics/render.js";

export async function checkCommand(
  io: CliIO,
  files: string[],
  options: { format: DiagnosticFormat; maxErrors: number },
): Promise<number> {
  const result = checkSpecs(io, files);
  if (options.format === "json" && result.diagnostics.length === 0) {
    // Machine readers always get a document, even an empty one.
    io.stdout(renderDiagnostics([], result.sources, { format: "json", color: false, maxErrors: 0 }) + "\n");
    return EXIT_OK;
  }
  const failed = printDiagnostics(io, result, result.diagnostics, options.format, options.maxErrors);
  if (!failed && options.format === "human") {
    const models = result.program.models.length;
    // One file named through two paths is one file.
    const count = new Set(files.map((f) => realIdentity(path.resolve(io.cwd, f)))).size;
    io.stderr(`checked ${count} file${count === 1 ? "" : "s"}: ${models} model${models === 1 ? "" : "s"}, no errors\n`);
  }
  return failed ? EXIT_SPEC_ERRORS : EXIT_OK;
}
