/**
 * `train M { … }` → IRTrain. Every setting is a statement whose value and
 * arguments are read with a zod schema, like a layer's; the IR is assembled
 * from zod's typed output. Section-level problems (missing settings, two
 * horizons, micro_batch not dividing batch) are reported even when a setting
 * failed, so one run shows all errors of a section.
 */
import { z } from "zod";
import type { LetStatement, Statement, TrainDecl } from "../../grammar/ast.js";
import type { Span } from "../../diagnostics/source.js";
import type { ExpertMomentPrecision, IRData, IROptimizer, IRSchedule, IRTrain, Horizon } from "../../ir/types.js";
import {
  DEFAULT_BPE_VOCAB,
  DEFAULT_CHECKPOINT_EVERY,
  DEFAULT_DATA,
  DEFAULT_EVAL_EVERY,
  DEFAULT_LOG_EVERY,
  DEFAULT_OPTIMIZER,
  DEFAULT_SCHEDULE,
  DEFAULT_SEED,
} from "../../ir/defaults.js";
import { flag, fraction, int, noneOr, num, numberCheck, pair, readArgs, text, valueSchema, word, type ArgsSpec, type Problem } from "./args.js";
import type { Run } from "./evaluate.js";
import { defineLocal, evaluateArgs, TRAIN_SETTINGS } from "./expand.js";
import type { Reporter } from "./report.js";
import { show, type Value } from "./values.js";
import { LocalScope, type FileScope } from "./scope.js";
import { didYouMean, nearest } from "./suggest.js";

const COUNT_MAX = Number.MAX_SAFE_INTEGER;

const warmup = valueSchema((value): IRSchedule["warmup"] | Problem => {
  if (value.t === "int" && value.v >= 0n && value.v <= BigInt(COUNT_MAX)) return { steps: Number(value.v) };
  if ((value.t === "percent" || value.t === "float") && value.v >= 0 && value.v < 1) return { fraction: value.v };
  return {
    code: "E0206" as const,
    message: "`{arg}` expects a number of steps (e.g. `2000`) or a fraction of training (e.g. `1%`)",
    label: "not a step count or a fraction below 100%",
  };
});

/** `expert_moments`: E0305 like any word outside its list, with a help that says what each value does. */
const expertMoments = valueSchema((value): ExpertMomentPrecision | Problem => {
  const text = value.t === "word" || value.t === "string" ? value.v : null;
  if (text === "fp32" || text === "bf16") return text;
  return {
    code: "E0305" as const,
    message: `\`{arg}\` cannot be ${show(value)}`,
    label: "not one of fp32, bf16",
    help:
      "allowed: `fp32` (the default) or `bf16` (the expert tables' Adam moments in bfloat16, stochastically rounded: half the memory)" +
      (text !== null && /^fp16$/i.test(text) ? "; fp16 is not offered: its range cannot hold small second moments" : ""),
  };
});

type AnyObject = z.ZodObject<Record<string, z.ZodType>>;
type TrainSetting = (typeof TRAIN_SETTINGS)[number];

/** Largest learning rate accepted: far past divergence, still a finite schedule. */
export const MAX_LR = 1e4;
/** Most batches `bn_recalibrate` may average: far more than the statistics need, still a bounded pause. */
export const MAX_RECALIBRATION_BATCHES = 10_000;
/** Largest FLOP budget accepted (the largest runs so far are below 1e27). */
export const MAX_FLOPS = 1e35;

const SCHEMAS = {
  batch: z.object({ value: int(1, COUNT_MAX) }),
  micro_batch: z.object({ value: int(1, COUNT_MAX) }),
  steps: z.object({ value: int(1, COUNT_MAX) }),
  tokens: z.object({ value: int(1, COUNT_MAX) }),
  flops: z.object({ value: num({ gt: 0, le: MAX_FLOPS }) }),
  seed: z.object({ value: int(0, 2 ** 32 - 1) }),
  eval_every: z.object({ value: int(1, COUNT_MAX) }),
  checkpoint_every: z.object({ value: int(1, COUNT_MAX) }),
  log_every: z.object({ value: int(1, COUNT_MAX) }),
  /** Training batches averaged into the query BatchNorm statistics before each evaluation; 0 = off. */
  bn_recalibrate: z.object({ value: int(0, MAX_RECALIBRATION_BATCHES) }),
  optimizer: z.object({
    value: word(["adamw"]),
    lr: num({ gt: 0, le: MAX_LR }),
    betas: pair(0, 1).optional(),
    eps: num({ gt: 0, le: 1 }).optional(),
    weight_decay: num({ ge: 0, le: MAX_LR }).optional(),
    clip: noneOr(numberCheck()).optional(),
    expert_lr: noneOr(numberCheck()).optional(),
    decay_all: flag().optional(),
    expert_moments: expertMoments.optional(),
  }),
  schedule: z.object({ value: word(["cosine", "linear", "constant"]), warmup: warmup.optional(), min_lr: fraction(1.000001).optional() }),
  data: z.object({
    value: word(["bytes", "bpe"]),
    path: text().optional(),
    val: fraction(1).optional(),
    vocab: int(257, 2 ** 31).optional(),
  }),
} satisfies Record<TrainSetting, AnyObject>;

const SPECS: Record<TrainSetting, ArgsSpec> = {
  batch: { what: "`batch`" },
  micro_batch: { what: "`micro_batch`" },
  steps: { what: "`steps`" },
  tokens: { what: "`tokens`" },
  flops: { what: "`flops`" },
  seed: { what: "`seed`" },
  eval_every: { what: "`eval_every`" },
  checkpoint_every: { what: "`checkpoint_every`" },
  log_every: { what: "`log_every`" },
  bn_recalibrate: { what: "`bn_recalibrate`" },
  optimizer: { what: "`optimizer adamw`", flags: ["decay_all"] },
  schedule: { what: "`schedule`" },
  data: { what: "`data`", positionalString: "path" },
};

type Schemas = typeof SCHEMAS;

interface Read<K extends TrainSetting> {
  data: z.output<Schemas[K]>;
  spans: Record<string, Span>;
  stmt: Statement;
}

/** What each setting read to, typed by zod's output. */
type Settings = { [K in TrainSetting]?: Read<K> };

/** Where each resolved value of an IRTrain came from: the span it was written at, or null for a default. */
export type TrainOrigins = Readonly<Record<string, Span | null>>;

const origins = new WeakMap<IRTrain, TrainOrigins>();
const horizonSpans = new WeakMap<IRTrain, Span>();

/** The provenance of a checked train section's values (for `peerc show`), keyed like the IR's fields. */
export function trainOrigins(train: IRTrain): TrainOrigins | undefined {
  return origins.get(train);
}

/** Where the horizon (`steps`, `tokens`, `flops`) of a checked train section was written. */
export function horizonSpan(train: IRTrain): Span | undefined {
  return horizonSpans.get(train);
}

function isSetting(head: string): head is TrainSetting {
  return (TRAIN_SETTINGS as readonly string[]).includes(head);
}

function readSetting<K extends TrainSetting>(head: K, stmt: Statement, value: { value: Value; span: Span }, run: Run, local: LocalScope): Read<K> | null {
  const args = readArgs(SCHEMAS[head], SPECS[head], evaluateArgs(run, stmt, local), { value }, stmt.head.span, run.reporter);
  return args ? { data: args.data, spans: args.spans, stmt } : null;
}

/** Checks a train section for a model with `context` tokens per sequence; null after reporting a problem. */
export function checkTrain(
  decl: TrainDecl,
  context: number,
  scope: FileScope,
  run: Run,
  walkedLets: Set<LetStatement>,
): IRTrain | null {
  const reporter = run.reporter;
  const local = new LocalScope(scope);
  const seen: Settings = {};
  /** Every setting written (its first statement), read cleanly or not: a broken one is not "missing". */
  const written = new Map<TrainSetting, Statement>();
  const misspelt = new Set<TrainSetting>();
  let ok = true;
  for (const stmt of decl.body.statements) {
    if (stmt.kind === "Let") {
      defineLocal(run, stmt, local, walkedLets);
      continue;
    }
    if (stmt.kind !== "Statement") {
      reporter.report({
        code: "E0109",
        message: `\`${stmt.kind.toLowerCase()}\` is not allowed in a train section`,
        span: stmt.span,
        label: "only settings and lets here",
      });
      ok = false;
      continue;
    }
    const head = stmt.head.name;
    if (!isSetting(head)) {
      // A misspelt setting stands in for the one it is closest to: that one is not also reported missing.
      const guess = nearest(head, TRAIN_SETTINGS);
      if (guess && isSetting(guess) && !written.has(guess)) misspelt.add(guess);
      reporter.report({
        code: "E0506",
        message: `unknown train setting \`${head}\``,
        span: stmt.head.span,
        label: "not a train setting",
        help: didYouMean(head, TRAIN_SETTINGS, "settings are"),
      });
      ok = false;
      continue;
    }
    const previous = written.get(head);
    if (previous) {
      reporter.report({
        code: "E0507",
        message: `\`${head}\` is given twice`,
        span: stmt.span,
        label: "given again here",
        labels: [{ span: previous.span, message: "first given here" }],
        help: "keep one",
      });
      ok = false;
      continue;
    }
    written.set(head, stmt);
    if (!stmt.value) {
      reporter.report({
        code: "E0503",
        message: `\`${head}\` needs a value`,
        span: stmt.span,
        label: "value missing",
        help: HELP[head],
      });
      ok = false;
      continue;
    }
    const value = { value: run.eval(stmt.value, local, head), span: stmt.value.span };
    const read = readSetting(head, stmt, value, run, local);
    if (!read) {
      ok = false;
      continue;
    }
    (seen as Record<TrainSetting, Read<TrainSetting>>)[head] = read;
  }
  return assemble(decl, seen, written, misspelt, context, reporter, ok);
}

const HELP: Record<string, string> = {
  batch: "e.g. `batch 128` sequences per step",
  micro_batch: "e.g. `micro_batch 16`",
  steps: "e.g. `steps 10K`",
  tokens: "e.g. `tokens 2G`",
  flops: "e.g. `flops 6e18`",
  optimizer: "e.g. `optimizer adamw(lr: 3e-4)`",
  schedule: "e.g. `schedule cosine(warmup: 1%, min_lr: 10%)`",
  data: "e.g. `data bytes(\"train.txt\", val: 5%)`",
  bn_recalibrate: "e.g. `bn_recalibrate 4` training batches before each evaluation (0 = off)",
};

function assemble(
  decl: TrainDecl,
  seen: Settings,
  written: ReadonlyMap<TrainSetting, Statement>,
  misspelt: ReadonlySet<TrainSetting>,
  context: number,
  reporter: Reporter,
  settingsOk: boolean,
): IRTrain | null {
  let ok = settingsOk;
  const batch = seen.batch?.data.value;
  const given = (k: TrainSetting) => written.has(k) || misspelt.has(k);
  if (!given("batch")) {
    reporter.report({ code: "E0503", message: "train section needs `batch`", span: decl.model.span, label: "no batch size", help: HELP.batch });
    ok = false;
  }
  const horizons = (["steps", "tokens", "flops"] as const).filter((h) => written.has(h));
  if (horizons.length === 0 && !(["steps", "tokens", "flops"] as const).some((h) => misspelt.has(h))) {
    reporter.report({
      code: "E0503",
      message: "train section needs a horizon: `steps`, `tokens` or `flops`",
      span: decl.model.span,
      label: "how long to train is not said",
      help: "add one of `steps 10K`, `tokens 2G`, `flops 6e18`",
    });
    ok = false;
  }
  for (const extra of horizons.slice(1)) {
    reporter.report({
      code: "E0504",
      message: `give one of \`steps\`, \`tokens\` or \`flops\`, not both \`${horizons[0]}\` and \`${extra}\``,
      span: written.get(extra)!.span,
      label: "second horizon",
      labels: [{ span: written.get(horizons[0]!)!.span, message: "first horizon" }],
      help: `remove \`${extra}\` or \`${horizons[0]}\``,
    });
    ok = false;
  }
  if (!given("optimizer")) {
    reporter.report({ code: "E0503", message: "train section needs `optimizer`", span: decl.model.span, label: "no optimizer", help: HELP.optimizer });
    ok = false;
  }
  const microRead = seen.micro_batch;
  const microBatch = microRead ? microRead.data.value : written.has("micro_batch") ? undefined : batch;
  if (batch !== undefined && microRead !== undefined && microBatch !== undefined && batch % microBatch !== 0) {
    const divisors = [...Array(Math.min(batch, 4096)).keys()].map((i) => i + 1).filter((k) => batch % k === 0);
    const below = divisors.filter((k) => k < microBatch).pop();
    const above = divisors.find((k) => k > microBatch);
    reporter.report({
      code: "E0505",
      message: `micro_batch ${microBatch} does not divide batch ${batch}`,
      span: microRead.stmt.value!.span,
      label: "gradients are accumulated over whole micro-batches",
      labels: [{ span: seen.batch!.stmt.value!.span, message: "batch here" }],
      help: `use ${[below, above].filter((x) => x !== undefined).join(" or ")}`,
    });
    ok = false;
  }
  const dataRead = seen.data;
  const path = dataRead?.data.path;
  if (dataRead && path !== undefined && (path.length === 0 || path.includes("\0"))) {
    reporter.report({
      code: "E0511",
      message: path.length === 0 ? "the data path is empty" : "the data path contains a NUL character",
      span: dataRead.spans.path!,
      label: "not a usable file name",
      help: "name a file relative to the spec's folder, or leave the path out for the built-in corpus",
    });
    ok = false;
  }
  if (dataRead && dataRead.data.value === "bytes" && dataRead.data.vocab !== undefined) {
    reporter.report({
      code: "E0302",
      message: "`data bytes` has no argument `vocab` (bytes always have 256 symbols)",
      span: dataRead.spans.vocab!,
      label: "only bpe has a vocabulary size",
      help: "remove it, or use `data bpe(…)`",
    });
    ok = false;
  }
  const o = seen.optimizer;
  if (!ok || batch === undefined || microBatch === undefined || o === undefined) return null;

  const h = horizons[0]!;
  const steps = seen.steps;
  const tokens = seen.tokens;
  const flops = seen.flops;
  const horizon: Horizon | null =
    h === "steps" ? (steps ? { kind: "steps", steps: steps.data.value } : null)
    : h === "tokens" ? (tokens ? { kind: "tokens", tokens: tokens.data.value } : null)
    : flops ? { kind: "flops", flops: flops.data.value } : null;
  if (horizon === null) return null;
  const od = o.data;
  const betas = od.betas ?? [DEFAULT_OPTIMIZER.beta1, DEFAULT_OPTIMIZER.beta2];
  const optimizer: IROptimizer = {
    kind: od.value,
    lr: od.lr,
    beta1: betas[0],
    beta2: betas[1],
    eps: od.eps ?? DEFAULT_OPTIMIZER.eps,
    weightDecay: od.weight_decay ?? DEFAULT_OPTIMIZER.weightDecay,
    clip: od.clip === undefined ? DEFAULT_OPTIMIZER.clip : od.clip,
    expertLr: od.expert_lr ?? DEFAULT_OPTIMIZER.expertLr,
    decayAll: od.decay_all ?? DEFAULT_OPTIMIZER.decayAll,
    // Left out when fp32 (the default), so the spec hash of specs without bf16 moments does not change.
    ...(od.expert_moments === "bf16" ? { expertMoments: "bf16" as const } : {}),
  };
  const s = seen.schedule?.data;
  const schedule: IRSchedule = {
    kind: s?.value ?? DEFAULT_SCHEDULE.kind,
    warmup: s?.warmup ?? DEFAULT_SCHEDULE.warmup,
    minLr: s?.min_lr ?? DEFAULT_SCHEDULE.minLr,
  };
  const d = dataRead?.data;
  const tokenizer = d?.value ?? DEFAULT_DATA.tokenizer;
  const data: IRData = {
    tokenizer,
    path: path ?? null,
    valFraction: d?.val ?? DEFAULT_DATA.valFraction,
    bpeVocab: tokenizer === "bpe" ? (d?.vocab ?? DEFAULT_BPE_VOCAB) : null,
  };
  const train: IRTrain = {
    span: decl.span,
    batch,
    microBatch,
    context,
    horizon,
    optimizer,
    schedule,
    data,
    seed: seen.seed?.data.value ?? DEFAULT_SEED,
    evalEvery: seen.eval_every?.data.value ?? DEFAULT_EVAL_EVERY,
    checkpointEvery: seen.checkpoint_every?.data.value ?? DEFAULT_CHECKPOINT_EVERY,
    logEvery: seen.log_every?.data.value ?? DEFAULT_LOG_EVERY,
    // Left out when not written, so the hash of a spec without it does not change.
    ...(seen.bn_recalibrate ? { bnRecalibrate: seen.bn_recalibrate.data.value } : {}),
  };
  const at = <K extends TrainSetting>(k: K, arg = "value"): Span | null => {
    const r = seen[k];
    return r ? (r.spans[arg] ?? (arg === "value" ? r.stmt.span : null)) : null;
  };
  origins.set(train, {
    batch: at("batch"),
    microBatch: at("micro_batch"),
    context: null,
    horizon: at(h),
    "optimizer.kind": at("optimizer"),
    "optimizer.lr": at("optimizer", "lr"),
    "optimizer.beta1": at("optimizer", "betas"),
    "optimizer.beta2": at("optimizer", "betas"),
    "optimizer.eps": at("optimizer", "eps"),
    "optimizer.weightDecay": at("optimizer", "weight_decay"),
    "optimizer.clip": at("optimizer", "clip"),
    "optimizer.expertLr": at("optimizer", "expert_lr"),
    "optimizer.decayAll": at("optimizer", "decay_all"),
    "optimizer.expertMoments": at("optimizer", "expert_moments"),
    "schedule.kind": at("schedule"),
    "schedule.warmup": at("schedule", "warmup"),
    "schedule.minLr": at("schedule", "min_lr"),
    "data.tokenizer": at("data"),
    "data.path": at("data", "path"),
    "data.valFraction": at("data", "val"),
    "data.bpeVocab": at("data", "vocab"),
    seed: at("seed"),
    evalEvery: at("eval_every"),
    checkpointEvery: at("checkpoint_every"),
    logEvery: at("log_every"),
    bnRecalibrate: at("bn_recalibrate"),
  });
  horizonSpans.set(train, seen[h]!.stmt.value!.span);
  return train;
}
