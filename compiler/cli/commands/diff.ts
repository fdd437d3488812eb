/** `peerc diff OLD NEW`: per-figure and per-layer deltas between two versions of a spec. */
import type { CliIO } from "../io.js";
import { EXIT_OK, EXIT_SPEC_ERRORS } from "../../../diagnostics/errors.js";
import { UsageError } from "../../../diagnostics/errors.js";
import { checkSpecs, costsOrDiagnostics, printDiagnostics } from "../load.js";
import { gitHost, parseRevPath } from "../spec-host.js";
import { renderReport } from "../../report/index.js";
import { diffModels, diffReports, type ModelPair } from "../../diff/index.js";
import { evaluateFailOn, parseFailOn } from "../../diff/fail-on.js";
import type { ReportJson } from "../../report/schema.js";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface DiffCommandOptions {
  format: "table" | "md" | "json";
  /** `--model OLD=NEW` or `--model NAME`, repeatable: compare only these models. */
  models?: readonly string[];
  /** `--fail-on RULE`, repeatable: exit 1 when a rule breaks. */
  failOn?: readonly string[];
}

export async function diffCommand(io: CliIO, oldArg: string, newArg: string, options: DiffCommandOptions): Promise<number> {
  const pairs = options.models && options.models.length > 0 ? options.models.map(parsePair) : undefined;
  const rules = (options.failOn ?? []).map(parseFailOn);
  const before = reportOf(io, oldArg);
  const after = reportOf(io, newArg);
  if (before === null || after === null) return EXIT_SPEC_ERRORS;
  const failOn = rules.length > 0 ? evaluateFailOn(diffModels(before, after, pairs), rules) : undefined;
  const text = diffReports(before, after, { format: options.format, models: pairs, failOn, sources: { before: oldArg, after: newArg } });
  io.stdout(text.endsWith("\n") ? text : text + "\n");
  const broken = (failOn ?? []).filter((r) => r.failed);
  if (broken.length === 0) return EXIT_OK;
  for (const r of broken) io.stderr(`peerc diff: ${r.text}\n`);
  io.stderr(`peerc diff: ${broken.length} limit${broken.length === 1 ? "" : "s"} broken\n`);
  return EXIT_SPEC_ERRORS;
}

/** "old=new" pairs two names; "name" compares the model of that name on both sides. An `=` inside a variant's brackets (`peer_n[experts=16384]`) is part of its name. */
function parsePair(text: string): ModelPair {
  let depth = 0;
  const cuts: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "[") depth++;
    else if (c === "]") depth--;
    else if (c === "=" && depth === 0) cuts.push(i);
  }
  const parts = cuts.length === 0 ? [text] : cuts.length === 1 ? [text.slice(0, cuts[0]), text.slice(cuts[0]! + 1)] : [];
  const names = parts.map((s) => s.trim());
  if (names.length === 0 || names.some((n) => n === "")) {
    throw new UsageError(`--model '${text}' is not NAME or OLD=NEW`, "e.g. --model dense=peer pairs model dense of OLD with model peer of NEW");
  }
  return { before: names[0]!, after: names[names.length - 1]! };
}

/** Runs git quietly: its stderr never reaches the terminal; null when it fails. */
function git(cwd: string, args: readonly string[]): string | null {
  try {
    return execFileSync("git", [...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch {
    return null;
  }
}

function reportOf(io: CliIO, arg: string): ReportJson | null {
  const revPath = fs.existsSync(path.resolve(io.cwd, arg)) ? null : parseRevPath(arg);
  let result;
  if (revPath) {
    if (git(io.cwd, ["rev-parse", "--show-toplevel"]) === null) {
      throw new UsageError(`cannot read '${arg}' through git: ${io.cwd} is not inside a git repository`, "run peerc diff inside the repository, or pass two files");
    }
    if (git(io.cwd, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${revPath.rev}^{commit}`]) === null) {
      throw new UsageError(`revision '${revPath.rev}' does not exist in this repository (in '${arg}')`, "name a branch, tag or commit, e.g. main:specs/tiny.peer or HEAD~1:specs/tiny.peer");
    }
    const host = gitHost(io.cwd, revPath.rev);
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
