/** `peerc diff OLD NEW`: per-figure and per-layer deltas between two versions of a spec. */
import type { CliIO } from "../io.js";
import { EXIT_OK, EXIT_SPEC_ERRORS } from "../../../diagnostics/errors.js";
import { UsageError } from "../../../diagnostics/errors.js";
import { checkSpecs, costsOrDiagnostics, printDiagnostics } from "../load.js";
import { gitHost, parseRevPath } from "../spec-host.js";
import { renderReport } from "../../report/index.js";
import { diffReports } from "../../diff/index.js";
import type { ReportJson } from "../../report/schema.js";
import * as fs from "node:fs";
import * as path from "node:path";

export async function diffCommand(
  io: CliIO,
  oldArg: string,
  newArg: string,
  options: { format: "table" | "md" | "json" },
): Promise<number> {
  const before = reportOf(io, oldArg);
  const after = reportOf(io, newArg);
  if (before === null || after === null) return EXIT_SPEC_ERRORS;
  const text = diffReports(before, after, { format: options.format });
  io.stdout(text.endsWith("\n") ? text : text + "\n");
  return EXIT_OK;
}

function reportOf(io: CliIO, arg: string): ReportJson | null {
  const revPath = fs.existsSync(path.resolve(io.cwd, arg)) ? null : parseRevPath(arg);
  let result;
  if (revPath) {
    let host;
    try {
      host = gitHost(io.cwd, revPath.rev);
    } catch {
      throw new UsageError(`cannot read '${arg}' through git: ${io.cwd} is not inside a git repository`);
    }
    if (host.readFile(revPath.path) === undefined) {
      throw new UsageError(`'${revPath.path}' does not exist at revision '${revPath.rev}'`);
    }
    result = checkSpecs(io, [revPath.path], host);
  } else {
    result = checkSpecs(io, [arg]);
  }
  if (printDiagnostics(io, result, result.diagnostics, "human")) return null;
  const costs = costsOrDiagnostics(io, result, "human");
  if (costs === null) return null;
  return JSON.parse(renderReport(costs, { format: "json", depth: 99, color: false })) as ReportJson;
}
