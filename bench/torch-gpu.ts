/**
 * The GPU benchmark of the torch target: writes the torch trainers of
 * specs/peer-1m.peer and of the d 1024 paper-like PEER model (specs/paper.peer,
 * model peer) into OUT, then, when a CUDA GPU is visible to the python that
 * imports torch, runs bench/torch-gpu.py on them (fp32 and bf16 autocast:
 * tokens/s, MFU against the bf16 and fp32 peaks, peak memory; a few minutes).
 *
 *   npx tsx bench/torch-gpu.ts [OUT] [--emit-only] [-- extra torch-gpu.py flags]
 *
 * On a GPU machine without node: emit here with --emit-only, copy OUT and
 * bench/torch-gpu.py there, and run `python3 torch-gpu.py OUT/peer_1m OUT/peer`.
 */
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { checkFiles } from "../compiler/check/index.js";
import { writeOutputs } from "../compiler/emit/write.js";
import { peercRoot } from "../compiler/emit/package-root.js";
import { emitTorchModelTrainer } from "../targets/torch/index.js";
import { findTorchPython } from "../targets/torch/python-env.js";

const args = process.argv.slice(2);
const split = args.indexOf("--");
const own = split >= 0 ? args.slice(0, split) : args;
const extra = split >= 0 ? args.slice(split + 1) : [];
const out = path.resolve(own.find((a) => !a.startsWith("--")) ?? "bench-torch-gpu");
const root = peercRoot();
const folders: string[] = [];
for (const [spec, name] of [["specs/peer-1m.peer", undefined], ["specs/paper.peer", "peer"]] as const) {
  const file = path.join(root, spec);
  const model = checkFiles([file]).program.models.find((m) => m.file === file && (name === undefined || m.name === name))!;
  const folder = path.join(out, model.name);
  writeOutputs(folder, [...emitTorchModelTrainer(model, { specFile: file, outDir: folder })].map(([n, text]) => ({ name: n, text })));
  folders.push(folder);
  console.log(`wrote ${folder}`);
}
if (!own.includes("--emit-only")) {
  const { found, tried } = findTorchPython();
  if (!found) {
    console.error(`no python3 with torch: ${tried.join("; ")}`);
    process.exit(1);
  }
  const r = spawnSync(found.python, [path.join(root, "bench", "torch-gpu.py"), ...folders, ...extra], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}
