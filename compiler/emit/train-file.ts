/**
 * train.ts: the trainer's entry point. `--help` lists every flag with this
 * spec's defaults (the table the README shows too); everything else goes to
 * the runtime's `trainMain` (peerc/runtime), which parses the same flags and
 * runs the loop. This file adds what only the emitter knows: the model
 * factory, FLOPs per token and dense memory figures from the cost model, the spec's data file relative
 * to this folder (`--export DIR` is the runtime's: weights.safetensors + architecture.json).
 */
import type { EmitContext } from "./context.js";
import { tsHeader } from "./header.js";
import { tsNumber, tsString, tsValue } from "./strings.js";
import { trainerFlags } from "./flags.js";
import { denseMemoryFigures } from "../cost/index.js";

export function emitTrainFile(ctx: EmitContext): string {
  const flags = trainerFlags(ctx);
  const totals = ctx.cost.totals.flopsPerToken;
  const memory = denseMemoryFigures(ctx.cost.layers);
  const parts: string[] = [tsHeader(ctx.header)];
  parts.push(`import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { trainMain, type TrainTarget } from ${tsString(ctx.runtimeImport)};
import { ARCHITECTURE, MODEL_NAME, SPEC_HASH, createModel } from "./model.js";

/** Forward and training FLOPs per token (cost model): MFU, and steps from a FLOP budget. */
const FORWARD_FLOPS_PER_TOKEN = ${tsNumber(totals.forward)};
const TRAIN_FLOPS_PER_TOKEN = ${tsNumber(totals.train)};

/** The dense part's fp32 memory (cost model), scaled to the run's shape by the memory preflight. */
const DENSE_MEMORY = {
  denseParams: ${tsNumber(memory.denseParams)},
  bufferBytes: ${tsNumber(memory.bufferBytes)},
  activationBytesPerToken: ${tsNumber(memory.activationBytesPerToken)},
};

/** This folder. */
const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The spec's folder, relative to this one: the train section's data path is relative to it. */
const SPEC_DIR = ${tsString(ctx.specDir)};
`);
  parts.push("/** Every flag with this spec's default (printed by --help; parsed by trainMain). */");
  parts.push("const FLAGS = [");
  for (const f of flags) {
    // Fixed key order (name first) reads better than the sorted order tsValue uses.
    const fields = [
      `name: ${tsString(f.name)}`,
      `value: ${tsValue(f.value)}`,
      `type: ${tsString(f.type)}`,
      `default: ${tsValue(f.default)}`,
      `excludes: ${tsValue([...f.excludes])}`,
      `description: ${tsString(f.description)}`,
    ];
    parts.push(`  { ${fields.join(", ")} },`);
  }
  parts.push("] as const;");
  parts.push(`
function help(): string {
  const rows = FLAGS.map((f) => {
    const name = "--" + f.name + (f.value ? " " + f.value : "");
    const def = f.default === null || f.default === false ? "" : " (default: " + String(f.default) + ")";
    const excl = f.excludes.length > 0 ? " (not with " + f.excludes.map((e) => "--" + e).join(", ") + ")" : "";
    return "  " + name.padEnd(24) + f.description + def + excl;
  });
  return ["usage: node train.js [flags]", "", "Trains " + JSON.stringify(MODEL_NAME) + " (spec hash " + SPEC_HASH.slice(0, 12) + ").", "", ...rows, ""].join("\\n");
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(help());
    return 0;
  }
  const target: TrainTarget = {
    ir: ARCHITECTURE,
    dataBase: path.resolve(HERE, SPEC_DIR),
    build: createModel,
    forwardFlopsPerToken: FORWARD_FLOPS_PER_TOKEN,
    trainFlopsPerToken: TRAIN_FLOPS_PER_TOKEN,
    memory: DENSE_MEMORY,
  };
  return trainMain(argv, target);
}

process.exitCode = await main(process.argv.slice(2));
`);
  return parts.join("\n");
}
