/**
 * Runs an isoFLOP sweep: every planned variant is trained for the steps its
 * budget allows, with the same seed (weights and batch order) and data, by
 * its compiled trainer in a child process of its own (tfjs state never leaks
 * between variants). A finished variant's result is recorded atomically in
 * DIR/variants/<variant>.json (temporary file + rename) together with the
 * settings it was trained under; a later run of the same sweep skips it, so a
 * killed sweep resumes with the variants not yet done. A variant interrupted
 * mid-run has no record: its run folder is cleared and it trains again from
 * step 0 (same seed, same result). After every recorded variant, and at the
 * end, DIR/results.json, DIR/results.md and the plots are rewritten.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError } from "../../diagnostics/errors.js";
import { safeFileName } from "../emit/names.js";
import type { PlannedVariant } from "./plan.js";
import { SWEEP_RESULTS_SCHEMA, SweepVariantResultSchema, type RoutedUsage, type SweepResults, type SweepVariantResult } from "./schema.js";
import { resultsMarkdown } from "./markdown.js";
import { sweepPlotSvg, type PlotSeries } from "./plot.js";

export interface SweepSettings {
  /** The spec file as the user gave it (recorded in results.json). */
  readonly spec: string;
  readonly flopsBudget: number;
  readonly seed: number;
  /** Absolute --data / --val-data for every trainer, or null (the spec's data). */
  readonly data: string | null;
  readonly valData: string | null;
  /** Validation batches per evaluation; null = the whole validation split. */
  readonly evalBatches: number | null;
  readonly backend: string | null;
  readonly jobs: number;
}

export interface SweepHooks {
  /** Compiles the variant's trainer (cached); returns its train.js. */
  prepare(variant: PlannedVariant): Promise<string>;
  /** Runs `node script args` with stdout and stderr into logFile; resolves to the exit code. */
  runTrainer(script: string, args: readonly string[], logFile: string): Promise<number>;
  /** One progress line (stderr). */
  say(line: string): void;
  /** Called after each recorded variant (crash injection in tests). */
  recorded?(count: number): void;
}

/** What a record was trained under: a record is reused only when all of it matches. */
interface RecordSettings {
  readonly spec_hash: string;
  readonly flops_budget: number;
  readonly steps: number;
  readonly seed: number;
  readonly data: string | null;
  readonly val_data: string | null;
  readonly eval_batches: number | null;
}

interface VariantRecord {
  readonly settings: RecordSettings;
  readonly result: SweepVariantResult;
}

/** The folder name of a variant: readable name plus a hash prefix (distinct variants never share one). */
export function variantKey(v: PlannedVariant): string {
  return `${safeFileName(v.name)}-${v.model.hash.slice(0, 8)}`;
}

function recordSettings(v: PlannedVariant, s: SweepSettings): RecordSettings {
  return { spec_hash: v.model.hash, flops_budget: s.flopsBudget, steps: v.steps, seed: s.seed, data: s.data, val_data: s.valData, eval_batches: s.evalBatches };
}

/** Writes a file atomically: a reader (or a resumed sweep) sees the old file or the whole new one. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** The recorded result of a variant when it was trained under exactly these settings; throws when it was trained under others. */
function readRecord(file: string, v: PlannedVariant, settings: RecordSettings): SweepVariantResult | null {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
  let record: VariantRecord;
  try {
    record = JSON.parse(text) as VariantRecord;
  } catch {
    return null; // unreadable (cannot happen with atomic writes, but a hand-edited file): train again
  }
  const differs = (Object.keys(settings) as (keyof RecordSettings)[]).filter((k) => record.settings?.[k] !== settings[k]);
  if (differs.length > 0) {
    throw new UsageError(
      `${file} records variant ${JSON.stringify(v.name)} trained with other settings (${differs.join(", ")} differ): ` +
        `sweep into a new -o folder, or delete that file to retrain the variant`,
    );
  }
  const parsed = SweepVariantResultSchema.safeParse(record.result);
  return parsed.success ? parsed.data : null;
}

export function trainerArgs(v: PlannedVariant, s: SweepSettings, runDir: string): string[] {
  const args = [
    "--steps", String(v.steps),
    "--seed", String(s.seed),
    "--out", runDir,
    "--eval-every", String(v.steps),
    "--checkpoint-every", String(v.steps),
    "--log-every", String(Math.max(1, Math.floor(v.steps / 20))),
    "--eval-batches", String(s.evalBatches ?? 1_000_000_000),
  ];
  if (s.data !== null) args.push("--data", s.data);
  if (s.valData !== null) args.push("--val-data", s.valData);
  if (s.backend !== null) args.push("--backend", s.backend);
  return args;
}

interface MetricsSummary {
  readonly tokensTrained: number;
  readonly valLoss: number;
  readonly valBpb: number;
  readonly usage: RoutedUsage[];
}

/** The last validation record of a run's metrics.jsonl, and the tokens of its last record. */
export function readRunMetrics(metricsFile: string): MetricsSummary | null {
  let text: string;
  try {
    text = fs.readFileSync(metricsFile, "utf8");
  } catch {
    return null;
  }
  let lastVal: Record<string, unknown> | null = null;
  let tokens = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (typeof r.tokens === "number") tokens = Math.max(tokens, r.tokens);
    if (typeof r.val_bpb === "number") lastVal = r;
  }
  if (lastVal === null) return null;
  const usage = Array.isArray(lastVal.expert_usage) ? (lastVal.expert_usage as Record<string, unknown>[]) : [];
  return {
    tokensTrained: tokens,
    valLoss: Number(lastVal.val_loss),
    valBpb: Number(lastVal.val_bpb),
    usage: usage.map((u) => ({
      path: String(u.path),
      num_experts: Number(u.numExperts ?? u.num_experts),
      usage: Number(u.usage),
      unevenness: typeof u.unevenness === "number" && Number.isFinite(u.unevenness) ? u.unevenness : null,
    })),
  };
}

export interface SweepOutcome {
  readonly results: SweepResults;
  readonly failed: string[];
}

export async function runSweep(dir: string, variants: readonly PlannedVariant[], settings: SweepSettings, hooks: SweepHooks): Promise<SweepOutcome> {
  fs.mkdirSync(path.join(dir, "variants"), { recursive: true });
  fs.mkdirSync(path.join(dir, "runs"), { recursive: true });
  const done = new Map<string, SweepVariantResult>();
  const failed: string[] = [];
  const todo: { v: PlannedVariant; index: number }[] = [];
  const total = variants.length;
  const tag = (i: number) => `[${i + 1}/${total}]`;

  variants.forEach((v, index) => {
    const recorded = readRecord(path.join(dir, "variants", `${variantKey(v)}.json`), v, recordSettings(v, settings));
    if (recorded) {
      done.set(v.name, recorded);
      hooks.say(`${tag(index)} ${v.name}: done earlier (${recorded.val_bpb.toFixed(4)} bits/byte), not rerun`);
    } else {
      todo.push({ v, index });
    }
  });
  const write = () => writeOutputs(dir, variants, settings, done);
  write();

  let recordedCount = 0;
  const trainOne = async ({ v, index }: { v: PlannedVariant; index: number }): Promise<void> => {
    const key = variantKey(v);
    const runDir = path.join(dir, "runs", key);
    if (fs.existsSync(runDir)) {
      hooks.say(`${tag(index)} ${v.name}: an earlier run stopped before it finished; training it again from step 0`);
      fs.rmSync(runDir, { recursive: true, force: true });
    }
    fs.mkdirSync(runDir, { recursive: true });
    const script = await hooks.prepare(v);
    const logFile = path.join(runDir, "train.log");
    hooks.say(
      `${tag(index)} ${v.name}: ${v.steps.toLocaleString("en-US")} steps × ${v.tokensPerStep.toLocaleString("en-US")} tokens ` +
        `(${v.budgetTokens.toLocaleString("en-US")} tokens in budget); log ${path.relative(dir, logFile)}`,
    );
    const started = Date.now();
    const code = await hooks.runTrainer(script, trainerArgs(v, settings, runDir), logFile);
    const seconds = (Date.now() - started) / 1000;
    const metrics = code === 0 ? readRunMetrics(path.join(runDir, "metrics.jsonl")) : null;
    if (metrics === null) {
      failed.push(v.name);
      hooks.say(`${tag(index)} ${v.name}: FAILED (trainer exit ${code}${code === 0 ? ", no validation record" : ""}); see ${logFile}`);
      return;
    }
    const result: SweepVariantResult = {
      name: v.name,
      method: v.method,
      values: { ...v.values },
      spec_hash: v.model.hash,
      params: v.params,
      active_params: v.activeParams,
      experts: v.experts,
      train_flops_per_token: v.trainFlopsPerToken,
      budget_tokens: v.budgetTokens,
      tokens_per_step: v.tokensPerStep,
      steps: v.steps,
      tokens_trained: metrics.tokensTrained,
      val_loss: metrics.valLoss,
      val_bpb: metrics.valBpb,
      expert_usage: metrics.usage,
      seconds: Math.round(seconds * 100) / 100,
      run_dir: path.relative(dir, runDir).split(path.sep).join("/"),
    };
    const record: VariantRecord = { settings: recordSettings(v, settings), result };
    writeAtomic(path.join(dir, "variants", `${key}.json`), JSON.stringify(record, null, 2) + "\n");
    done.set(v.name, result);
    write();
    hooks.say(`${tag(index)} ${v.name}: ${result.val_bpb.toFixed(4)} bits/byte in ${seconds.toFixed(1)} s`);
    hooks.recorded?.(++recordedCount);
  };

  const queue = [...todo];
  const workers = Array.from({ length: Math.max(1, Math.min(settings.jobs, queue.length)) }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await trainOne(next);
  });
  await Promise.all(workers);
  const results = write();
  return { results, failed };
}

function resultsOf(variants: readonly PlannedVariant[], settings: SweepSettings, done: ReadonlyMap<string, SweepVariantResult>): SweepResults {
  return {
    schema: SWEEP_RESULTS_SCHEMA,
    spec: settings.spec,
    flops_budget: settings.flopsBudget,
    target: "tfjs",
    seed: settings.seed,
    data: settings.data,
    val_data: settings.valData,
    eval_batches: settings.evalBatches,
    variants: variants.flatMap((v) => (done.has(v.name) ? [done.get(v.name)!] : [])),
    missing: variants.filter((v) => !done.has(v.name)).map((v) => v.name),
  };
}

export const PARAMS_PLOT = "bpb-vs-params.svg";
export const EXPERTS_PLOT = "bpb-vs-experts.svg";

/**
 * Axes of a method's value lists that change its expert count: a key k such that two variants differing
 * only in k have different N (e.g. `experts`, not the width `d`).
 */
function expertAxes(variants: readonly SweepVariantResult[]): Set<string> {
  const keys = new Set(variants.flatMap((v) => Object.keys(v.values)));
  const axes = new Set<string>();
  for (const k of keys) {
    const others = [...keys].filter((o) => o !== k);
    for (const a of variants) {
      for (const b of variants) {
        if (a.values[k] !== b.values[k] && a.experts !== b.experts && others.every((o) => a.values[o] === b.values[o])) axes.add(k);
      }
    }
  }
  return axes;
}

function seriesName(method: string, v: SweepVariantResult, keys: readonly string[]): string {
  const parts = keys.filter((k) => k in v.values).map((k) => `${k}=${v.values[k]}`);
  return parts.length === 0 ? method : `${method} ${parts.join(",")}`;
}

function grouped(variants: readonly SweepVariantResult[], name: (v: SweepVariantResult) => string, x: (v: SweepVariantResult) => number): PlotSeries[] {
  const out = new Map<string, { x: number; y: number }[]>();
  for (const v of variants) {
    const key = name(v);
    out.set(key, [...(out.get(key) ?? []), { x: x(v), y: v.val_bpb }]);
  }
  return [...out].map(([n, points]) => ({ name: n, points }));
}

/**
 * Plot series. Against parameters (Figure 1): one series per method at a fixed expert count — the model
 * and its expert-axis values (`iso_peer experts=1024`), through its sizes. Against N (Figure 3a): one
 * series per method and size — the model and its other values (`iso_peer d=64`), only where N varies.
 */
export function plotSeries(results: SweepResults): { params: PlotSeries[]; experts: PlotSeries[] } {
  const methods = [...new Set(results.variants.map((v) => v.method))];
  const params: PlotSeries[] = [];
  const experts: PlotSeries[] = [];
  for (const m of methods) {
    const members = results.variants.filter((v) => v.method === m);
    const axes = expertAxes(members);
    const keys = [...new Set(members.flatMap((v) => Object.keys(v.values)))];
    params.push(...grouped(members, (v) => seriesName(m, v, keys.filter((k) => axes.has(k))), (v) => v.params));
    if (axes.size > 0) {
      const routed = members.filter((v) => v.experts !== null);
      experts.push(...grouped(routed, (v) => seriesName(m, v, keys.filter((k) => !axes.has(k))), (v) => v.experts!).filter((s) => s.points.length >= 2));
    }
  }
  return { params, experts };
}

function writeOutputs(dir: string, variants: readonly PlannedVariant[], settings: SweepSettings, done: ReadonlyMap<string, SweepVariantResult>): SweepResults {
  const results = resultsOf(variants, settings, done);
  const series = plotSeries(results);
  const budget = settings.flopsBudget.toPrecision(3);
  writeAtomic(path.join(dir, "results.json"), JSON.stringify(results, null, 2) + "\n");
  writeAtomic(
    path.join(dir, PARAMS_PLOT),
    sweepPlotSvg(series.params, { title: `validation bits/byte at ${budget} training FLOPs`, xLabel: "parameters", yLabel: "validation bits per byte" }),
  );
  const expertsPlot = path.join(dir, EXPERTS_PLOT);
  if (series.experts.length > 0) {
    writeAtomic(expertsPlot, sweepPlotSvg(series.experts, { title: `validation bits/byte against experts N at ${budget} FLOPs`, xLabel: "experts N", yLabel: "validation bits per byte" }));
  } else if (fs.existsSync(expertsPlot)) {
    fs.rmSync(expertsPlot);
  }
  writeAtomic(path.join(dir, "results.md"), resultsMarkdown(results, { paramsPlot: PARAMS_PLOT, expertsPlot: series.experts.length > 0 ? EXPERTS_PLOT : null }));
  return results;
}
