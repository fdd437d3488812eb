/**
 * The emitted trainer's flags: one table read by train-file.ts (parser and
 * --help) and readme-file.ts (the README's flag table), so they cannot drift.
 * Defaults come from the spec's train section; a model without one gets the
 * small defaults below, said as such in --help.
 */
import {
  DEFAULT_BATCH,
  DEFAULT_CHECKPOINT_EVERY,
  DEFAULT_EVAL_EVERY,
  DEFAULT_LOG_EVERY,
  DEFAULT_SEED,
  DEFAULT_STEPS,
} from "../../ir/defaults.js";
import type { EmitContext } from "./context.js";

export interface TrainerFlag {
  readonly name: string;
  readonly type: "string" | "int" | "number" | "boolean";
  /** Placeholder in --help: "FILE", "N". */
  readonly value: string | null;
  readonly description: string;
  /** Default value, or null when the flag is off / unset by default. */
  readonly default: string | number | boolean | null;
  /** Flags that cannot be given together with this one. */
  readonly excludes: readonly string[];
}

/** The runtime's default run folder name (runtime/train/main.ts): unsafe characters become "_". */
export function safeRunName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, "_");
}

/** Used when a model has no train section: the runtime then trains `defaultTrain` (ir/defaults.ts). */
export const FALLBACK = {
  steps: DEFAULT_STEPS,
  batch: DEFAULT_BATCH,
  evalEvery: DEFAULT_EVAL_EVERY,
  checkpointEvery: DEFAULT_CHECKPOINT_EVERY,
  logEvery: DEFAULT_LOG_EVERY,
  seed: DEFAULT_SEED,
} as const;

export function trainerFlags(ctx: EmitContext): TrainerFlag[] {
  const train = ctx.model.train;
  const steps = ctx.cost.train?.steps ?? FALLBACK.steps;
  const flag = (f: Omit<TrainerFlag, "excludes"> & { excludes?: readonly string[] }): TrainerFlag => ({ excludes: [], ...f });
  return [
    flag({
      name: "data",
      type: "string",
      value: "FILE",
      description:
        ctx.dataPath === null
          ? "training text (UTF-8); default: the runtime's built-in corpus"
          : "training text (UTF-8); default: the spec's data file (path relative to this trainer's folder)",
      default: ctx.dataPath,
    }),
    flag({ name: "val-data", type: "string", value: "FILE", description: "validation text; default: the held-out tail of --data", default: null }),
    flag({
      name: "steps",
      type: "int",
      value: "N",
      description: "optimizer steps (the schedule's horizon)",
      default: steps,
      excludes: ["tokens"],
    }),
    flag({
      name: "tokens",
      type: "number",
      value: "N",
      description: "train on N tokens instead: steps = N / (batch × context)",
      default: null,
      excludes: ["steps"],
    }),
    flag({ name: "batch", type: "int", value: "N", description: "sequences per optimizer step", default: train?.batch ?? FALLBACK.batch }),
    flag({ name: "backend", type: "string", value: "NAME", description: "auto | node-gpu | node | wasm | cpu", default: "auto" }),
    flag({ name: "out", type: "string", value: "DIR", description: "run folder: checkpoints, metrics.jsonl, loss.svg", default: `runs/${safeRunName(ctx.model.name)}` }),
    flag({ name: "resume", type: "boolean", value: null, description: "continue from the latest checkpoint in --out", default: false }),
    flag({ name: "seed", type: "int", value: "N", description: "seed of the weights and of batch sampling", default: train?.seed ?? FALLBACK.seed }),
    flag({ name: "eval-every", type: "int", value: "N", description: "validate every N steps", default: train?.evalEvery ?? FALLBACK.evalEvery }),
    flag({ name: "eval-batches", type: "int", value: "N", description: "validation batches per evaluation", default: 16 }),
    flag({ name: "log-every", type: "int", value: "N", description: "log metrics every N steps", default: train?.logEvery ?? FALLBACK.logEvery }),
    flag({
      name: "checkpoint-every",
      type: "int",
      value: "N",
      description: "checkpoint every N steps (and at the end)",
      default: train?.checkpointEvery ?? FALLBACK.checkpointEvery,
    }),
    flag({
      name: "force-memory",
      type: "boolean",
      value: null,
      description: "start even if the memory preflight estimates the run will not fit",
      default: false,
    }),
    flag({
      name: "export",
      type: "string",
      value: "DIR",
      description: "after training, write DIR/weights.safetensors and DIR/architecture.json (docs/weights.md)",
      default: null,
    }),
    flag({ name: "help", type: "boolean", value: null, description: "print this help and exit", default: false }),
  ];
}
