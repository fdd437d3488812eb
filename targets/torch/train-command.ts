/**
 * `peerc train SPEC --target torch [-- flags]`: compile the torch trainer into
 * the trainer cache, find the first python3 that imports torch, and run
 * train.py with it (inherited stdio; its exit code is ours). The trainer's
 * first line names torch, the device and the python.
 *
 * A spec without a data file trains on the built-in corpus, which is the
 * TypeScript runtime's generator: it is written once into the cache folder as
 * builtin-corpus.txt by running the built runtime in a child node process (the
 * compiler never imports the runtime).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { runForeground } from "../../compiler/child-process.js";
import { pathToFileURL } from "node:url";
import type { IRModel } from "../../ir/types.js";
import { PEERC_VERSION } from "../../ir/version.js";
import { cacheDir, cacheIsCurrent, filesDigest, STAMP_FILE } from "../../compiler/emit/cache.js";
import { peercRoot } from "../../compiler/emit/package-root.js";
import { writeOutputs } from "../../compiler/emit/write.js";
import { emitTorchModelTrainer } from "./index.js";
import { findTorchPython } from "./python-env.js";

export interface TorchTrainIO {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  stderr(text: string): void;
}

/** Runs `python script args…`; resolves to its exit code. Tests pass their own. */
export type PythonRunner = (python: string, script: string, args: readonly string[], cwd: string) => Promise<number>;

export const BUILTIN_CORPUS_FILE = "builtin-corpus.txt";

export async function trainTorch(io: TorchTrainIO, model: IRModel, specFile: string, args: readonly string[], run: PythonRunner = runPython): Promise<number> {
  const { found, tried } = findTorchPython(io.env);
  if (found === null) {
    io.stderr(`peerc: --target torch needs a python3 that imports torch; tried ${tried.join("; ")}\n`);
    io.stderr("  help: install PyTorch (Debian/Ubuntu: apt-get install python3-torch; else pip install torch), or point PEERC_PYTHON at a python that has it\n");
    return 1;
  }
  const dir = cacheDir(specFile, model, `${PEERC_VERSION}-torch`, io.env);
  const files = emitTorchModelTrainer(model, { specFile, outDir: dir });
  if (!cacheIsCurrent(dir, files)) {
    writeOutputs(dir, [...files].map(([name, text]) => ({ name, text })));
    fs.writeFileSync(path.join(dir, STAMP_FILE), filesDigest(files) + "\n");
    io.stderr(`compiled ${model.name} (torch target) into ${dir}\n`);
  } else {
    io.stderr(`using cached torch trainer ${dir}\n`);
  }
  if (model.train?.data.path == null && !fs.existsSync(path.join(dir, BUILTIN_CORPUS_FILE))) writeBuiltinCorpus(dir);
  io.stderr(`running ${found.python} (torch ${found.torchVersion})\n`);
  return run(found.python, path.join(dir, "train.py"), args, io.cwd);
}

/** The TypeScript runtime's built-in corpus, written by the built runtime in a child node process. */
function writeBuiltinCorpus(dir: string): void {
  const entry = path.join(peercRoot(), "dist", "runtime", "data", "index.js");
  if (!fs.existsSync(entry)) return; // train.py then asks for --data
  const script = `const m = await import(${JSON.stringify(pathToFileURL(entry).href)}); process.stdout.write(Buffer.from(m.builtinCorpus()));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { maxBuffer: 64 << 20 });
  if (r.status !== 0 || r.stdout.length === 0) return;
  const temp = path.join(dir, `.${BUILTIN_CORPUS_FILE}.${process.pid}.tmp`);
  fs.writeFileSync(temp, r.stdout);
  fs.renameSync(temp, path.join(dir, BUILTIN_CORPUS_FILE));
}

function runPython(python: string, script: string, args: readonly string[], cwd: string): Promise<number> {
  return runForeground(python, [script, ...args], cwd);
}
