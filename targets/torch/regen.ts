/**
 * generated/torch/<model>/: what `peerc compile --target torch` writes for
 * every model of specs/, byte-checked by test/torch/generated.test.ts and
 * rewritten by `npx tsx targets/torch/regen.ts` (`--check` only reports).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { checkFiles } from "../../compiler/check/index.js";
import { hasErrors } from "../../diagnostics/diagnostic.js";
import { specFiles } from "../../compiler/emit/generated.js";
import { safeFileName } from "../../compiler/emit/names.js";
import { GENERATED_MARK } from "../../compiler/emit/header.js";
import { writeOutputs } from "../../compiler/emit/write.js";
import { peercRoot } from "../../compiler/emit/package-root.js";
import { emitTorchModelTrainer, torchRuntimeSource } from "./index.js";

/** Folder under generated/ that holds the torch trainers. */
export const TORCH_GENERATED = "torch";

/** What generated/torch/ holds: one folder per model, and the one peerc_runtime.py they all import. */
export interface TorchGeneratedPlan {
  readonly folders: Map<string, Map<string, string>>;
  /** Files at the top of generated/torch/, shared by every trainer. */
  readonly shared: Map<string, string>;
  readonly failed: string[];
}

export function planTorchGenerated(root: string): TorchGeneratedPlan {
  const folders = new Map<string, Map<string, string>>();
  const failed: string[] = [];
  const host = { readFile: (f: string) => (fs.existsSync(path.resolve(root, f)) ? fs.readFileSync(path.resolve(root, f), "utf8") : undefined) };
  for (const spec of specFiles(root)) {
    const result = checkFiles([spec], host);
    if (hasErrors(result.diagnostics)) {
      failed.push(spec);
      continue;
    }
    for (const model of result.program.models) {
      if (model.file !== spec) continue;
      const folder = safeFileName(model.name);
      if (folders.has(folder)) throw new Error(`generated/${TORCH_GENERATED}/${folder} would hold two models; rename one`);
      const outDir = path.join(root, "generated", TORCH_GENERATED, folder);
      folders.set(folder, emitTorchModelTrainer(model, { specFile: path.join(root, spec), outDir }, "shared"));
    }
  }
  return { folders, shared: new Map([["peerc_runtime.py", torchRuntimeSource(root)]]), failed };
}

export function regenTorch(root: string, check: boolean, log: (line: string) => void): number {
  const plan = planTorchGenerated(root);
  const base = path.join(root, "generated", TORCH_GENERATED);
  let stale = 0;
  for (const [folder, files] of plan.folders) {
    const dir = path.join(base, folder);
    const changed = [...files].filter(([name, text]) => !fs.existsSync(path.join(dir, name)) || fs.readFileSync(path.join(dir, name), "utf8") !== text);
    if (changed.length === 0) continue;
    stale += changed.length;
    log(`${check ? "out of date" : "wrote"}: ${changed.map(([n]) => `generated/${TORCH_GENERATED}/${folder}/${n}`).join(", ")}`);
    if (!check) writeOutputs(dir, changed.map(([name, text]) => ({ name, text })));
  }
  const staleShared = [...plan.shared].filter(([name, text]) => !fs.existsSync(path.join(base, name)) || fs.readFileSync(path.join(base, name), "utf8") !== text);
  if (staleShared.length > 0) {
    stale += staleShared.length;
    log(`${check ? "out of date" : "wrote"}: ${staleShared.map(([n]) => `generated/${TORCH_GENERATED}/${n}`).join(", ")}`);
    if (!check) writeOutputs(base, staleShared.map(([name, text]) => ({ name, text })));
  }
  for (const folder of plan.folders.keys()) {
    // A copy of a shared file left in a trainer's folder by an older peerc would shadow the shared one.
    for (const name of plan.shared.keys()) {
      const copy = path.join(base, folder, name);
      if (!fs.existsSync(copy)) continue;
      stale++;
      log(`${check ? "no longer produced" : "removed"}: generated/${TORCH_GENERATED}/${folder}/${name}`);
      if (!check) fs.rmSync(copy);
    }
  }
  if (fs.existsSync(base)) {
    for (const entry of fs.readdirSync(base, { withFileTypes: true })) {
      const dir = path.join(base, entry.name);
      const ours = fs.existsSync(path.join(dir, "model.py")) && fs.readFileSync(path.join(dir, "model.py"), "utf8").includes(GENERATED_MARK);
      if (!entry.isDirectory() || plan.folders.has(entry.name) || !ours) continue;
      stale++;
      log(`${check ? "no longer produced" : "removed"}: generated/${TORCH_GENERATED}/${entry.name}`);
      if (!check) fs.rmSync(dir, { recursive: true });
    }
  }
  for (const spec of plan.failed) log(`skipped (does not check): ${spec}`);
  if (stale === 0) log(`generated/${TORCH_GENERATED} is up to date (${plan.folders.size} trainers)`);
  return check && stale > 0 ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = regenTorch(peercRoot(), process.argv.includes("--check"), (line) => console.log(line));
}
