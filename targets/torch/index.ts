/**
 * The PyTorch target: `peerc compile SPEC --target torch -o DIR` writes
 *
 *   model.py           the model's modules, specialised to the spec (model-file.ts)
 *   train.py           the entry point: the train section as a literal, then peerc_runtime.train_main
 *   peerc_runtime.py   the shared torch runtime, copied verbatim from targets/torch/python/
 *   report.json, README.md   the static cost report and how to run
 *
 * Emission is pure (IR + cost → bytes), deterministic and independent of the
 * machine: no date, no absolute path.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { IRModel, ModelArchitecture } from "../../ir/types.js";
import { defaultTrain } from "../../ir/defaults.js";
import { costModel } from "../../compiler/cost/index.js";
import { emitContext, type ContextOptions, type EmitContext } from "../../compiler/emit/context.js";
import { GENERATED_MARK, markdownHeader } from "../../compiler/emit/header.js";
import { emitReportJson } from "../../compiler/emit/report-file.js";
import { peercRoot } from "../../compiler/emit/package-root.js";
import { flopsText, groupThousands } from "../../compiler/emit/cost-comment.js";
import { markdownText } from "../../compiler/emit/strings.js";
import { emitTorchModelFile } from "./model-file.js";
import { pyComment, pyString, pyValue } from "./python.js";

/** File names of a torch trainer folder, in the order they are written. */
export const TORCH_FILES = ["model.py", "train.py", "peerc_runtime.py", "report.json", "README.md"] as const;

/** The `#` banner of every emitted Python file. */
export function pyHeader(ctx: EmitContext): string {
  const hash = ctx.header.hash;
  if (!/^[0-9a-f]{8,128}$/.test(hash)) throw new Error(`spec hash is not lower-case hex: ${JSON.stringify(hash)}`);
  return [
    `# ${GENERATED_MARK}.`,
    `# spec:  ${pyComment(ctx.header.spec)} (relative to this folder)`,
    `# model: ${pyComment(ctx.header.model)}`,
    `# hash:  sha256:${hash}`,
    "# Regenerate with `peerc compile --target torch`; edits here are lost.",
    "",
  ].join("\n");
}

/** The model without source locations: what architecture.json and the ARCHITECTURE literals hold. */
export function architectureOf(model: IRModel): ModelArchitecture {
  return stripSpans(model) as ModelArchitecture;
}

function stripSpans(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripSpans);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k === "span" || k === "argSpans" || k === "metricSpan" || k === "limitSpan" || k === "file") continue;
      out[k] = stripSpans(v);
    }
    return out;
  }
  return value;
}

/** The shared runtime's text (targets/torch/python/peerc_runtime.py in the package). */
export function torchRuntimeSource(root = peercRoot()): string {
  const file = path.join(root, "targets", "torch", "python", "peerc_runtime.py");
  return fs.readFileSync(file, "utf8");
}

/** `dModel` → `d_model`: architecture.json's keys (runtime/train/export.ts, architectureJson). */
function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined) out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = snakeKeys(v);
  return out;
}

function emitTrainPy(ctx: EmitContext, header: string): string {
  const model = ctx.model;
  const train = stripSpans(model.train ?? defaultTrain(model.context));
  // What --export writes as architecture.json: the same file as the TypeScript trainer's.
  const arch = snakeKeys(architectureOf(model));
  return [
    header,
    `"""Train ${"the model"} of model.py: python3 train.py [options], or torchrun --nproc_per_node N train.py [options]."""`,
    "import os",
    "import sys",
    "",
    "HERE = os.path.dirname(os.path.abspath(__file__))",
    "sys.path.insert(0, HERE)",
    "import model as spec  # noqa: E402",
    "import peerc_runtime as rt  # noqa: E402",
    "",
    `# The spec's data file relative to this folder (None: the spec names none).`,
    `DATA = ${ctx.dataPath === null ? "None" : pyString(ctx.dataPath)}`,
    "",
    `TRAIN = ${pyValue(train)}`,
    "",
    `TRAIN_FLOPS_PER_TOKEN = ${Math.round(ctxTrainFlops(ctx))}`,
    "spec.TRAIN_FLOPS_PER_TOKEN = TRAIN_FLOPS_PER_TOKEN",
    "",
    `ARCHITECTURE = ${pyValue(arch)}`,
    "",
    'if __name__ == "__main__":',
    "    sys.exit(rt.train_main(sys.argv[1:], spec, TRAIN, DATA, HERE, ARCHITECTURE))",
    "",
  ].join("\n");
}

function ctxTrainFlops(ctx: EmitContext): number {
  return ctx.cost.totals.flopsPerToken.train;
}

function emitTorchReadme(ctx: EmitContext): string {
  const m = ctx.model;
  const lines = [
    markdownHeader(ctx.header).trimEnd(),
    `# ${markdownText(m.name)}: PyTorch trainer`,
    "",
    "Generated by `peerc compile --target torch`. Runs on PyTorch 1.13 (Debian's `python3-torch`) and 2.x.",
    "",
    "```sh",
    "python3 train.py --help",
    "python3 train.py --data corpus.txt --steps 100 --export out/        # one process",
    "torchrun --nproc_per_node 2 train.py --data corpus.txt --steps 100    # data parallel (gloo on CPU, NCCL on GPUs)",
    "torchrun --nproc_per_node 2 train.py --data corpus.txt --shard-tables # PEER/PKM tables split by rows across ranks",
    "python3 train.py --init-from ts-export/weights.safetensors           # start from the TypeScript trainer's export",
    "```",
    "",
    "Weights, checkpoints and `--export` use the layout of peerc's docs/weights.md, the same files as the",
    "TypeScript trainer, so a model moves between the targets in either direction.",
    "",
    "| layer | kind | params | forward / token |",
    "|---|---|---|---|",
    ...ctx.cost.layers.map((l) => `| ${markdownText(l.path)} | ${l.kind} | ${groupThousands(l.params)} | ${flopsText(l.forward.matrix + l.forward.elementwise)} |`),
    "",
    `Files: model.py (the modules), train.py (the train section and entry point), peerc_runtime.py (shared runtime, copied), report.json (cost report).`,
    "",
  ];
  return lines.join("\n");
}

/** All files of the torch trainer for `ctx`, name → text, in TORCH_FILES order. */
export function emitTorchTrainer(ctx: EmitContext, runtimeSource = torchRuntimeSource()): Map<string, string> {
  const header = pyHeader(ctx);
  return new Map<string, string>([
    ["model.py", emitTorchModelFile({ model: architectureOf(ctx.model), cost: ctx.cost, header })],
    ["train.py", emitTrainPy(ctx, header)],
    ["peerc_runtime.py", runtimeSource],
    ["report.json", emitReportJson(ctx)],
    ["README.md", emitTorchReadme(ctx)],
  ]);
}

/** Cost the model and emit its torch trainer for `options.outDir`. */
export function emitTorchModelTrainer(model: IRModel, options: ContextOptions): Map<string, string> {
  return emitTorchTrainer(emitContext(model, costModel(model), options));
}
