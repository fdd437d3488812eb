/** Shared by the emit tests: check a spec from the repo and pick a model. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { checkFiles } from "../../compiler/check/index.js";
import type { IRModel } from "../../ir/types.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export function checkedModels(specText: string, fileName = "spec.peer"): IRModel[] {
  const result = checkFiles([fileName], { readFile: (f) => (f === fileName ? specText : undefined) });
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((d) => `${d.code} ${d.message}`).join("\n"));
  return [...result.program.models];
}

export function repoModel(spec: string, name?: string): IRModel {
  const result = checkFiles([spec], { readFile: (f) => fs.readFileSync(path.resolve(ROOT, f), "utf8") });
  const models = result.program.models.filter((m) => m.file === spec);
  const model = name === undefined ? models[0] : models.find((m) => m.name === name);
  if (!model) throw new Error(`${spec} has no model ${name}`);
  return model;
}

export function tempDir(prefix = "peerc-emit-"): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}
