/**
 * `train M { … }` → IRTrain. Every setting is a statement whose value and
 * arguments are read with a zod schema, like a layer's.
 */
import { z } from "zod";
import type { Statement, TrainDecl } from "../../grammar/ast.js";
import type { Span } from "../../diagnostics/source.js";
import type { IRData, IROptimizer, IRSchedule, IRTrain, Horizon } from "../../ir/types.js";
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
import { flag, fraction, int, noneOr, num, numberCheck, pair, readArgs, text, valueSchema, word, type ArgsSpec } from "./args.js";
import type { Run } from "./evaluate.js";
import { defineLocal, evaluateArgs, TRAIN_SETTINGS } from "./expand.js";
import type { Reporter } from "./report.js";
import { LocalScope, type FileScope } from "./scope.js";
import { didYouMean } from "./suggest.js";
import type { LetStatement } from "../../grammar/ast.js";

const COUNT_MAX = Number.MAX_SAFE_INTEGER;

const warmup = valueSchema((value) => {
  if (value.t === "int" && value.v >= 0n && value.v <= BigInt(COUNT_MAX)) return { steps: Number(value.v) };
  if ((value.t === "percent" || value.t === "float") && value.v >= 0 && value.v < 1) return { fraction: value.v };
  return {
    code: "E0206" as const,
    message: "`{arg}` expects a number of steps (e.g. `2000`) or a fraction of training (e.g. `1%`)",
    label: "not a step count or a fraction below 100%",
  };
});

type AnyObject = z.ZodObject<Record<string, z.ZodType>>;
interface Setting {
  readonly schema: AnyObject;
  readonly spec: ArgsSpec;
}

const setting = (what: string, schema: AnyObject, spec: Partial<ArgsSpec> = {}): Setting => ({ schema, spec: { what, ...spec } });

const SETTINGS: Record<(typeof TRAIN_SETTINGS)[number], Setting> = {
  batch: setting("`batch`", z.object({ value: int(1, COUNT_MAX) })),
  micro_batch: setting("`micro_batch`", z.object({ value: int(1, COUNT_MAX) })),
  steps: setting("`steps`", z.object({ value: int(1, COUNT_MAX) })),
  tokens: setting("`tokens`", z.object({ value: int(1, COUNT_MAX) })),
  flops: setting("`flops`", z.object({ value: num({ gt: 0 }) })),
  seed: setting("`seed`", z.object({ value: int(0, 2 ** 32 - 1) })),
  eval_every: setting("`eval_every`", z.object({ value: int(1, COUNT_MAX) })),
  checkpoint_every: setting("`checkpoint_every`", z.object({ value: int(1, COUNT_MAX) })),
  log_every: setting("`log_every`", z.object({ value: int(1, COUNT_MAX) })),
  optimizer: setting(
    "`optimizer adamw`",
    z.object({
      value: word(["adamw"]),
      lr: num({ gt: 0 }),
      betas: pair(0, 1).optional(),
      eps: num({ gt: 0 }).optional(),
      weight_decay: num({ ge: 0 }).optional(),
      clip: noneOr(numberCheck()).optional(),
      expert_lr: noneOr(numberCheck()).optional(),
      decay_all: flag().optional(),
    }),
    { flags: ["decay_all"] },
  ),
  schedule: setting(
    "`schedule`",
    z.object({ value: word(["cosine", "linear", "constant"]), warmup: warmup.optional(), min_lr: fraction(1.000001).optional() }),
  ),
  data: setting(
    "`data`",
    z.object({
      value: word(["bytes", "bpe"]),
      path: text().optional(),
      val: fraction(1).optional(),
      vocab: int(257, 2 ** 31).optional(),
    }),
    { positionalString: "path" },
  ),
};

interface Read {
  data: Record<string, unknown>;
  spans: Record<string, Span>;
  stmt: Statement;
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
  const seen = new Map<string, Read>();
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
    const def = (SETTINGS as Record<string, Setting>)[head];
    if (!def) {
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
    const previous = seen.get(head);
    if (previous) {
      reporter.report({
        code: "E0507",
        message: `\`${head}\` is given twice`,
        span: stmt.span,
        label: "given again here",
        labels: [{ span: previous.stmt.span, message: "first given here" }],
        help: "keep one",
      });
      ok = false;
      continue;
    }
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
    const args = readArgs(def.schema, def.spec, evaluateArgs(run, stmt, local), { value }, stmt.head.span, reporter);
    if (!args) {
      ok = false;
      continue;
    }
    seen.set(head, { data: args.data as Record<string, unknown>, spans: args.spans, stmt });
  }
  if (!ok) return null;
  return assemble(decl, seen, context, reporter);
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
};

function assemble(decl: TrainDecl, seen: Map<string, Read>, context: number, reporter: Reporter): IRTrain | null {
  const get = <T>(name: string, key = "value"): T | undefined => seen.get(name)?.data[key] as T | undefined;
  let ok = true;
  const batch = get<number>("batch");
  if (batch === undefined) {
    reporter.report({ code: "E0503", message: "train section needs `batch`", span: decl.model.span, label: "no batch size", help: HELP.batch });
    ok = false;
  }
  const horizons = (["steps", "tokens", "flops"] as const).filter((h) => seen.has(h));
  if (horizons.length === 0) {
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
      span: seen.get(extra)!.stmt.span,
      label: "second horizon",
      labels: [{ span: seen.get(horizons[0]!)!.stmt.span, message: "first horizon" }],
      help: `remove \`${extra}\` or \`${horizons[0]}\``,
    });
    ok = false;
  }
  if (!seen.has("optimizer")) {
    reporter.report({ code: "E0503", message: "train section needs `optimizer`", span: decl.model.span, label: "no optimizer", help: HELP.optimizer });
    ok = false;
  }
  const microBatch = get<number>("micro_batch") ?? batch;
  if (batch !== undefined && microBatch !== undefined && batch % microBatch !== 0) {
    const divisors = [...Array(Math.min(batch, 4096)).keys()].map((i) => i + 1).filter((k) => batch % k === 0);
    const below = divisors.filter((k) => k < microBatch).pop();
    const above = divisors.find((k) => k > microBatch);
    reporter.report({
      code: "E0505",
      message: `micro_batch ${microBatch} does not divide batch ${batch}`,
      span: seen.get("micro_batch")!.stmt.value!.span,
      label: "gradients are accumulated over whole micro-batches",
      labels: [{ span: seen.get("batch")!.stmt.value!.span, message: "batch here" }],
      help: `use ${[below, above].filter((x) => x !== undefined).join(" or ")}`,
    });
    ok = false;
  }
  const dataRead = seen.get("data");
  const path = dataRead ? (dataRead.data.path as string | undefined) : undefined;
  if (path !== undefined && (path.length === 0 || path.includes("\0"))) {
    reporter.report({
      code: "E0511",
      message: path.length === 0 ? "the data path is empty" : "the data path contains a NUL character",
      span: dataRead!.spans.path!,
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
  if (!ok || batch === undefined || microBatch === undefined) return null;

  const h = horizons[0]!;
  const horizon: Horizon =
    h === "steps" ? { kind: "steps", steps: get<number>("steps")! }
    : h === "tokens" ? { kind: "tokens", tokens: get<number>("tokens")! }
    : { kind: "flops", flops: get<number>("flops")! };
  const o = seen.get("optimizer")!.data;
  const betas = (o.betas as [number, number] | undefined) ?? [DEFAULT_OPTIMIZER.beta1, DEFAULT_OPTIMIZER.beta2];
  const optimizer: IROptimizer = {
    kind: "adamw",
    lr: o.lr as number,
    beta1: betas[0],
    beta2: betas[1],
    eps: (o.eps as number | undefined) ?? DEFAULT_OPTIMIZER.eps,
    weightDecay: (o.weight_decay as number | undefined) ?? DEFAULT_OPTIMIZER.weightDecay,
    clip: o.clip === undefined ? DEFAULT_OPTIMIZER.clip : (o.clip as number | null),
    expertLr: (o.expert_lr as number | null | undefined) ?? DEFAULT_OPTIMIZER.expertLr,
    decayAll: (o.decay_all as boolean | undefined) ?? DEFAULT_OPTIMIZER.decayAll,
  };
  const s = seen.get("schedule")?.data;
  const schedule: IRSchedule = {
    kind: (s?.value as IRSchedule["kind"] | undefined) ?? DEFAULT_SCHEDULE.kind,
    warmup: (s?.warmup as IRSchedule["warmup"] | undefined) ?? DEFAULT_SCHEDULE.warmup,
    minLr: (s?.min_lr as number | undefined) ?? DEFAULT_SCHEDULE.minLr,
  };
  const d = dataRead?.data;
  const tokenizer = (d?.value as IRData["tokenizer"] | undefined) ?? DEFAULT_DATA.tokenizer;
  const data: IRData = {
    tokenizer,
    path: path ?? null,
    valFraction: (d?.val as number | undefined) ?? DEFAULT_DATA.valFraction,
    bpeVocab: tokenizer === "bpe" ? ((d?.vocab as number | undefined) ?? DEFAULT_BPE_VOCAB) : null,
  };
  return {
    span: decl.span,
    batch,
    microBatch,
    context,
    horizon,
    optimizer,
    schedule,
    data,
    seed: get<number>("seed") ?? DEFAULT_SEED,
    evalEvery: get<number>("eval_every") ?? DEFAULT_EVAL_EVERY,
    checkpointEvery: get<number>("checkpoint_every") ?? DEFAULT_CHECKPOINT_EVERY,
    logEvery: get<number>("log_every") ?? DEFAULT_LOG_EVERY,
  };
}
