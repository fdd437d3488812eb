/**
 * The checked-in trainers in generated/: one folder per model of every spec
 * in specs/ (generated/<model>/), and one per variant for sweeps
 * (generated/<model>-<knob>-<value>/), each holding exactly what
 * `peerc compile` would write there. `planGenerated` computes them in memory;
 * regen.ts writes them and the up-to-date test compares bytes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkFiles } from "../check/index.js";
import type { FileHost } from "../check/index.js";
import { hasErrors } from "../../diagnostics/diagnostic.js";
import { emitModelTrainer } from "./index.js";
import { safeFileName } from "./names.js";

export interface GeneratedPlan {
  /** Folder name under generated/ → (file name → text). */
  readonly folders: Map<string, Map<string, string>>;
  /** Specs that failed to check (they get no folder; the test reports them). */
  readonly failed: string[];
}

function diskHost(root: string): FileHost {
  return {
    readFile(file: string): string | undefined {
      try {
        return fs.readFileSync(path.resolve(root, file), "utf8");
      } catch {
        return undefined;
      }
    },
  };
}

export function specFiles(root: string): string[] {
  const dir = path.join(root, "specs");
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".peer"))
    .sort()
    .map((f) => `specs/${f}`);
}

/**
 * Specs that only define shared blocks (no model) produce nothing. Two models
 * that would share a folder are an error: rename one.
 */
export function planGenerated(root: string): GeneratedPlan {
  const folders = new Map<string, Map<string, string>>();
  const owner = new Map<string, string>();
  const failed: string[] = [];
  for (const spec of specFiles(root)) {
    const result = checkFiles([spec], diskHost(root));
    if (hasErrors(result.diagnostics)) {
      failed.push(spec);
      continue;
    }
    for (const model of result.program.models) {
      if (model.file !== spec) continue; // models of imported files belong to their own spec
      const folder = safeFileName(model.name);
      const previous = owner.get(folder);
      if (previous) throw new Error(`generated/${folder} would hold both ${previous} and ${spec}:${model.name}; rename one model`);
      owner.set(folder, `${spec}:${model.name}`);
      const outDir = path.join(root, "generated", folder);
      folders.set(folder, emitModelTrainer(model, { specFile: path.join(root, spec), outDir }));
    }
  }
  return { folders, failed };
}
