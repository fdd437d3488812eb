/**
 * The trainer's flags, listed once. The runtime's `trainMain` parses argv
 * against this table and prints its help (on `--help` and after a usage
 * error, the same text); the emitter's README flag table reads it too
 * (compiler/emit/flags.ts). Defaults come from the model's train section (or
 * the defaults of ir/defaults.ts for a model without one) and are filled in
 * by `trainerFlags`.
 */

export type TrainerFlagType = "string" | "int" | "number" | "boolean";

/** What a flag is, independent of any model. */
export interface TrainerFlagInfo {
  readonly name: string;
  readonly type: TrainerFlagType;
  /** Placeholder in help: "FILE", "N"; null for a boolean flag. */
  readonly value: string | null;
  readonly description: string;
  /** Flags that cannot be given together with this one. */
  readonly excludes: readonly string[];
}

/** A flag with the default of one model. */
export interface TrainerFlag extends TrainerFlagInfo {
  /** Default value, or null when the flag is off / unset by default. */
  readonly default: string | number | boolean | null;
}

/** The backends `--backend` accepts (runtime/backend/select.ts's BACKEND_REQUESTS; a test keeps them equal). */
export const TRAINER_BACKENDS: readonly string[] = ["auto", "node-gpu", "webgpu", "node", "wasm", "cpu"];
export const DEFAULT_EVAL_BATCHES = 16;

const flag = (name: string, type: TrainerFlagType, value: string | null, description: string, excludes: readonly string[] = []): TrainerFlagInfo => ({
  name,
  type,
  value,
  description,
  excludes,
});

/** Every trainer flag, in help order. */
export const TRAINER_FLAGS: readonly TrainerFlagInfo[] = [
  flag("data", "string", "FILE", "training text (UTF-8)"),
  flag("val-data", "string", "FILE", "validation text; default: the held-out tail of --data"),
  flag("steps", "int", "N", "optimizer steps (the schedule's horizon; a resumed run keeps the interrupted run's unless given)", ["tokens"]),
  flag("tokens", "number", "N", "train on N tokens instead: steps = N / (batch × context)", ["steps"]),
  flag("context", "int", "N", "tokens per training sequence (at most the model's context)"),
  flag("batch", "int", "N", "sequences per optimizer step"),
  flag("backend", "string", "NAME", TRAINER_BACKENDS.join(" | ")),
  flag("out", "string", "DIR", "run folder: checkpoints, metrics.jsonl, loss.svg"),
  flag("resume", "boolean", null, "continue from the newest good checkpoint in --out"),
  flag("seed", "int", "N", "seed of the weights and of batch sampling"),
  flag("eval-every", "int", "N", "validate every N steps"),
  flag("eval-batches", "int", "N", "validation batches per evaluation"),
  flag("log-every", "int", "N", "log metrics every N steps"),
  flag("checkpoint-every", "int", "N", "checkpoint every N steps (and at the end)"),
  flag("force-memory", "boolean", null, "start even if the memory preflight estimates the run will not fit"),
  flag("threads", "int", "N", "threads for the host expert kernels (top-k, selected scores, forward, backward, update) and the native matmul on wasm; default: the cores this process may use"),
  flag("export", "string", "DIR", "after training, write DIR/weights.safetensors and DIR/architecture.json (docs/weights.md)"),
  flag("help", "boolean", null, "print this help and exit"),
];

/** The defaults of one model's run. */
export interface TrainerDefaults {
  /** The spec's data file as the reader should see it, or null: the built-in corpus. */
  readonly data: string | null;
  /** Where `data` is relative to, e.g. "relative to the spec's folder". */
  readonly dataRelativeTo: string;
  /** Planned steps, or null when they are not known here (e.g. a FLOP budget without FLOPs per token). */
  readonly steps: number | null;
  readonly context: number;
  readonly batch: number;
  readonly seed: number;
  readonly evalEvery: number;
  readonly logEvery: number;
  readonly checkpointEvery: number;
  /** The model's name: the run folder is runs/<safe name>. */
  readonly modelName: string;
}

/** The runtime's default run folder name: characters other than [A-Za-z0-9_.-] become "_". */
export function safeRunName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, "_");
}

/** The table with one model's defaults. */
export function trainerFlags(d: TrainerDefaults): TrainerFlag[] {
  const defaults: Record<string, string | number | boolean | null> = {
    data: d.data,
    steps: d.steps,
    context: d.context,
    batch: d.batch,
    backend: "auto",
    out: `runs/${safeRunName(d.modelName)}`,
    resume: false,
    seed: d.seed,
    "eval-every": d.evalEvery,
    "eval-batches": DEFAULT_EVAL_BATCHES,
    "log-every": d.logEvery,
    "checkpoint-every": d.checkpointEvery,
  };
  return TRAINER_FLAGS.map((f) => {
    const description =
      f.name === "data"
        ? d.data === null
          ? `${f.description}; default: the runtime's built-in corpus`
          : `${f.description}; default: the spec's data file (${d.dataRelativeTo})`
        : f.name === "steps" && d.steps === null
          ? `${f.description}; default: from the spec's FLOP budget`
          : f.description;
    return { ...f, description, default: defaults[f.name] ?? null };
  });
}

/** One help row per flag: `  --steps N               optimizer steps … (default: 400) (not with --tokens)`. */
export function trainerHelpRows(flags: readonly TrainerFlag[]): string[] {
  return flags.map((f) => {
    const name = `--${f.name}${f.value ? ` ${f.value}` : ""}`;
    const def = f.default === null || f.default === false ? "" : ` (default: ${String(f.default)})`;
    const excl = f.excludes.length > 0 ? ` (not with ${f.excludes.map((e) => `--${e}`).join(", ")})` : "";
    return `  ${name.padEnd(24)}${f.description}${def}${excl}`;
  });
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The trainer flag a mistyped name most likely meant (a unique prefix, or within edit distance 2), or null. */
export function closestTrainerFlag(name: string): string | null {
  const names = TRAINER_FLAGS.map((f) => f.name);
  const prefixed = names.filter((n) => name.length >= 3 && n.startsWith(name));
  if (prefixed.length === 1) return prefixed[0]!;
  let best: string | null = null;
  let bestDistance = Math.min(2, Math.floor(name.length / 2));
  for (const n of names) {
    const dist = distance(name, n);
    if (dist <= bestDistance && (best === null || dist < bestDistance)) {
      best = n;
      bestDistance = dist;
    }
  }
  return best;
}
