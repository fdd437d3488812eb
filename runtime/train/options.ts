/**
 * The trainer's command line: argv parsed against the one flag table
 * (ir/trainer-flags.ts), and the help text, which is the same on `--help` and
 * after a usage error.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { UsageError } from "../../diagnostics/errors.js";
import { visible } from "../../diagnostics/source.js";
import { defaultTrain } from "../../ir/defaults.js";
import {
  closestTrainerFlag,
  DEFAULT_EVAL_BATCHES,
  safeRunName,
  TRAINER_FLAGS,
  trainerFlags,
  trainerHelpRows,
} from "../../ir/trainer-flags.js";
import type { ModelArchitecture } from "../../ir/types.js";
import { BACKEND_REQUESTS, type BackendRequest } from "../backend/select.js";
import { MAX_EXPERT_THREADS } from "../experts/kernel-pool.js";

/** A train section without source locations (what a ModelArchitecture carries). */
export type TrainSection = NonNullable<ModelArchitecture["train"]>;

export interface TrainOptions {
  readonly data: string | null;
  readonly valData: string | null;
  readonly steps: number | undefined;
  readonly tokens: number | undefined;
  readonly context: number | undefined;
  readonly batch: number | undefined;
  readonly backend: BackendRequest;
  readonly out: string;
  readonly resume: boolean;
  readonly seed: number | undefined;
  readonly evalEvery: number | undefined;
  readonly evalBatches: number;
  readonly logEvery: number | undefined;
  readonly checkpointEvery: number | undefined;
  readonly export: string | null;
  /** Start even when the memory preflight says the run will not fit. */
  readonly forceMemory: boolean;
  /** Threads for the host expert kernels; undefined = the available cores. */
  readonly threads: number | undefined;
}

/** `--help` was given: not an error, the caller prints the help and exits 0. */
export class HelpRequested extends UsageError {
  constructor() {
    super("");
  }
}

/** The model's train section, or the smoke-run defaults of a model without one (ir/defaults.ts). */
export function trainSection(ir: ModelArchitecture): TrainSection {
  return ir.train ?? defaultTrain(ir.context);
}

/** Steps of the spec's own horizon at `tokensPerStep`, or null for a FLOP budget without FLOPs per token. */
export function specSteps(train: TrainSection, tokensPerStep: number, trainFlopsPerToken: number | undefined): number | null {
  const h = train.horizon;
  if (h.kind === "steps") return h.steps;
  if (h.kind === "tokens") return Math.max(1, Math.ceil(h.tokens / tokensPerStep));
  if (!trainFlopsPerToken) return null;
  return Math.max(1, Math.floor(h.flops / (trainFlopsPerToken * tokensPerStep)));
}

/** The help text: usage, what is trained, one row per flag with this model's default. */
export function trainHelp(ir: ModelArchitecture, trainFlopsPerToken?: number): string {
  const train = trainSection(ir);
  const flags = trainerFlags({
    data: train.data.path === null ? null : visible(train.data.path),
    dataRelativeTo: "relative to the spec's folder",
    steps: specSteps(train, train.batch * train.context, trainFlopsPerToken),
    context: train.context,
    batch: train.batch,
    seed: train.seed,
    evalEvery: train.evalEvery,
    logEvery: train.logEvery,
    checkpointEvery: train.checkpointEvery,
    modelName: ir.name,
  });
  const name = visible(JSON.stringify(ir.name));
  const what = ir.train
    ? `Trains ${name} (spec hash ${ir.hash.slice(0, 12)}).`
    : `Trains ${name} (spec hash ${ir.hash.slice(0, 12)}); it has no train section, so the defaults below are a short smoke run (docs/runtime.md).`;
  // The run folder's default comes from the model's name, made safe by safeRunName.
  return ["usage: node train.js [flags]", "", what, "", ...trainerHelpRows(flags), ""].join("\n");
}

/** What the user typed, as a usage message quotes it: control characters and line feeds escaped. */
function typed(text: string): string {
  return visible(text).replace(/\n/g, "\\n");
}

function positiveInt(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`--${flag} must be a positive integer, got "${typed(text)}"`);
  return value;
}

function threadCount(text: string | undefined): number | undefined {
  const threads = positiveInt("threads", text);
  if (threads !== undefined && threads > MAX_EXPERT_THREADS) throw new UsageError(`--threads must be at most ${MAX_EXPERT_THREADS}, got "${text}"`);
  return threads;
}

/** Unknown flags, named with the closest known one (`--stpes` → `--steps`). */
function rejectUnknownFlags(argv: readonly string[]): void {
  const known = new Set(TRAINER_FLAGS.map((f) => f.name));
  for (const arg of argv) {
    if (arg === "--") break;
    if (!arg.startsWith("-") || arg === "-") continue;
    const name = arg.replace(/^--?/, "").split("=")[0]!;
    if (known.has(name) || arg === "-h") continue;
    const near = closestTrainerFlag(name);
    throw new UsageError(`unknown flag ${typed(arg.split("=")[0]!)}${near ? ` (did you mean --${near}?)` : ""}`);
  }
}

export function parseTrainArgs(argv: readonly string[], modelName: string): TrainOptions {
  rejectUnknownFlags(argv);
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(TRAINER_FLAGS.map((f) => [f.name, { type: f.type === "boolean" ? ("boolean" as const) : ("string" as const) }])),
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    // node:util's messages quote the offending argument.
    throw new UsageError(typed((error as Error).message));
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const text = (name: string): string | undefined => (typeof v[name] === "string" ? (v[name] as string) : undefined);
  if (v.help) throw new HelpRequested();
  for (const f of TRAINER_FLAGS) {
    for (const other of f.excludes) {
      if (v[f.name] !== undefined && v[other] !== undefined) throw new UsageError(`give --${f.name} or --${other}, not both`);
    }
  }
  const backend = (text("backend") ?? "auto") as BackendRequest;
  if (!BACKEND_REQUESTS.includes(backend)) throw new UsageError(`--backend must be one of ${BACKEND_REQUESTS.join(", ")}, got "${typed(backend)}"`);
  const seedText = text("seed");
  if (seedText !== undefined && !Number.isSafeInteger(Number(seedText))) throw new UsageError(`--seed must be an integer, got "${typed(seedText)}"`);
  return {
    data: text("data") ?? null,
    valData: text("val-data") ?? null,
    steps: positiveInt("steps", text("steps")),
    tokens: positiveInt("tokens", text("tokens")),
    context: positiveInt("context", text("context")),
    batch: positiveInt("batch", text("batch")),
    backend,
    out: text("out") ?? path.join("runs", safeRunName(modelName)),
    resume: v.resume === true,
    seed: seedText === undefined ? undefined : Number(seedText),
    evalEvery: positiveInt("eval-every", text("eval-every")),
    evalBatches: positiveInt("eval-batches", text("eval-batches")) ?? DEFAULT_EVAL_BATCHES,
    logEvery: positiveInt("log-every", text("log-every")),
    checkpointEvery: positiveInt("checkpoint-every", text("checkpoint-every")),
    export: text("export") ?? null,
    forceMemory: v["force-memory"] === true,
    threads: threadCount(text("threads")),
  };
}
