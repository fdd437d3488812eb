/**
 * train.ts: the trainer's entry point. Every argument goes to the runtime's
 * `trainMain` (peerc/runtime), which parses the flags (listed once, in
 * ir/trainer-flags.ts), prints `--help` with this spec's defaults and runs the
 * loop. This file adds what only the emitter knows: the model factory, FLOPs
 * per token and dense memory figures from the cost model, the spec's data file
 * relative to this folder (`--export DIR` is the runtime's: weights.safetensors + architecture.json).
 */
import type { EmitContext } from "./context.js";
import { tsHeader } from "./header.js";
import { tsNumber, tsString } from "./strings.js";
import { denseMemoryFigures } from "../cost/index.js";

export function emitTrainFile(ctx: EmitContext): string {
  const totals = ctx.cost.totals.flopsPerToken;
  const memory = denseMemoryFigures(ctx.cost.layers);
  const parts: string[] = [tsHeader(ctx.header)];
  parts.push(`import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { trainMain, type TrainTarget } from ${tsString(ctx.runtimeImport)};
import { ARCHITECTURE, createModel } from "./model.js";

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
  parts.push(`async function main(argv: readonly string[]): Promise<number> {
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
