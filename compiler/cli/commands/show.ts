/**
 * `peerc show SPEC [--model M] [--format text|json]`: the resolved
 * ("operative") view of a model: every value of the model and train sections
 * after folding, expansion and defaults, each with where it came from: the
 * spec line that wrote it, an imported file (a block defined there), a
 * default, or a value derived from the model (d_model, context, vocab, rope).
 * A layer expanded from a block also names the calls it came through, so the
 * line to change (the call's arguments) is shown next to the block's, and a
 * value computed from block parameters names where those were written.
 */
import type { CliIO } from "../io.js";
import { EXIT_OK, EXIT_SPEC_ERRORS, UsageError } from "../../../diagnostics/errors.js";
import { checkSpecs, printDiagnostics, usableAfterErrors } from "../load.js";
import { layerOrigins, modelOrigins, trainOrigins, type CheckResult, type LayerOrigins } from "../../check/index.js";
import { visible, type Span } from "../../../diagnostics/source.js";
import type { IRLayer, IRModel } from "../../../ir/types.js";
import { DEFAULT_BN_RECALIBRATE, defaultTrain } from "../../../ir/defaults.js";
import type { z } from "zod";
import type { OriginSchema, ShownModelSchema, ShownValueSchema } from "./show-schema.js";

export const SHOW_SCHEMA = "peerc.show/v2" as const;

/** The shapes of the JSON document, from its schema (show-schema.ts), so the two cannot drift apart. */
export type Origin = z.infer<typeof OriginSchema>;
export type ShownValue = z.infer<typeof ShownValueSchema>;
export type ShownModel = z.infer<typeof ShownModelSchema>;

const FROM_MODEL: Record<string, string> = {
  dModel: "the model's d_model (embed dim)",
  vocab: "the model's vocab",
  context: "the model's context",
  rope: "the model's `positions rope`",
  dim: "the model's d_model (embed dim)",
  subKeys: "√experts (product keys)",
  kvHeads: "heads (no kv_heads: plain multi-head attention)",
};

const SKIP = new Set(["kind", "path", "index", "span", "argSpans"]);

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function at(span: Span, model: IRModel): Origin {
  return { kind: span.file === model.file ? "spec" : "import", file: span.file, line: span.line, column: span.column };
}

const DEFAULT: Origin = { kind: "default", file: null, line: null, column: null };

function layerValues(layer: IRLayer, model: IRModel, origins: LayerOrigins | undefined): ShownValue[] {
  const spans = layer.argSpans;
  const out: ShownValue[] = [];
  for (const [key, value] of Object.entries(layer)) {
    if (SKIP.has(key)) continue;
    const name = snake(key);
    const written = spans[name] ?? spans[key] ?? (key === "type" || key === "tied" ? spans.value : undefined);
    const origin: Origin = written
      ? at(written, model)
      : FROM_MODEL[key]
        ? { ...DEFAULT, kind: "derived", from: FROM_MODEL[key] }
        : DEFAULT;
    const params = written ? origins?.params.get(written) : undefined;
    out.push(
      params
        ? { key: name, value, origin, params: params.map((p) => ({ param: p.param, how: p.how, origin: at(p.span, model) })) }
        : { key: name, value, origin },
    );
  }
  return out;
}

export function showModel(model: IRModel): ShownModel {
  const props = modelOrigins(model);
  const fromBlocks = layerOrigins(model);
  const prop = (span: Span | undefined): Origin => (span ? at(span, model) : DEFAULT);
  const modelValues: ShownValue[] = [
    { key: "vocab", value: model.vocab, origin: prop(props?.vocab) },
    { key: "context", value: model.context, origin: prop(props?.context) },
    { key: "d_model", value: model.dModel, origin: prop(props?.dModel) },
  ];
  const train = model.train ?? { ...defaultTrain(model.context), span: model.span };
  const origins = model.train ? trainOrigins(model.train) : undefined;
  const trainValues: ShownValue[] = [];
  const push = (key: string, value: unknown, originKey: string) => {
    const span = origins?.[originKey];
    const origin: Origin =
      span ? at(span, model)
      : originKey === "context" ? { ...DEFAULT, kind: "derived", from: train.context === model.context ? "the model's context" : "min(128, the model's context)" }
      : originKey === "microBatch" && model.train ? { ...DEFAULT, kind: "derived", from: "batch (no micro_batch)" }
      : DEFAULT;
    trainValues.push({ key, value, origin });
  };
  push("batch", train.batch, "batch");
  push("micro_batch", train.microBatch, "microBatch");
  push("context", train.context, "context");
  push(train.horizon.kind, train.horizon.kind === "steps" ? train.horizon.steps : train.horizon.kind === "tokens" ? train.horizon.tokens : train.horizon.flops, "horizon");
  for (const [key, value] of Object.entries(train.optimizer)) push(`optimizer.${snake(key)}`, value, `optimizer.${key}`);
  for (const [key, value] of Object.entries(train.schedule)) push(`schedule.${snake(key)}`, value, `schedule.${key}`);
  for (const [key, value] of Object.entries(train.data)) push(`data.${snake(key)}`, value, `data.${key}`);
  push("seed", train.seed, "seed");
  push("eval_every", train.evalEvery, "evalEvery");
  push("checkpoint_every", train.checkpointEvery, "checkpointEvery");
  push("log_every", train.logEvery, "logEvery");
  // Shown with its default too: recalibration changes what every evaluation reports.
  push("bn_recalibrate", train.bnRecalibrate ?? DEFAULT_BN_RECALIBRATE, "bnRecalibrate");
  return {
    name: model.name,
    file: model.file,
    hash: model.hash,
    sweep: model.sweep ? model.sweep.map((s) => ({ name: s.name, value: s.value })) : null,
    model: modelValues,
    layers: model.layers.map((l) => ({
      path: l.path,
      kind: l.kind,
      origin: at(l.span, model),
      calls: (fromBlocks?.[l.index]?.calls ?? []).map((c) => ({ block: c.block, origin: at(c.span, model) })),
      values: layerValues(l, model, fromBlocks?.[l.index]),
    })),
    train: trainValues,
    trainSection: model.train !== null,
    budgets: model.budgets.map((b) => ({ text: "", origin: at(b.span, model) })),
  };
}

export async function showCommand(io: CliIO, file: string, options: { model?: string; format: "text" | "json" }): Promise<number> {
  const result = checkSpecs(io, [file]);
  const failed = printDiagnostics(io, result, result.diagnostics, "human");
  if (failed && !usableAfterErrors(io, result, options.model ?? (result.program.models.length ? undefined : null))) return EXIT_SPEC_ERRORS;
  let models = result.program.models;
  if (options.model !== undefined) {
    models = models.filter((m) => m.name === options.model || m.baseName === options.model);
    if (models.length === 0) {
      const names = [...new Set(result.program.models.map((m) => m.baseName))];
      throw new UsageError(`${file} has no model named ${JSON.stringify(options.model)}`, `models: ${names.join(", ")}`);
    }
  }
  if (models.length === 0) throw new UsageError(`${file} declares no model`);
  const shown = models.map((m) => withBudgetText(showModel(m), m, result));
  if (options.format === "json") {
    io.stdout(JSON.stringify({ schema: SHOW_SCHEMA, models: shown }, null, 2) + "\n");
  } else {
    io.stdout(visible(shown.map(renderText).join("\n")));
  }
  return failed ? EXIT_SPEC_ERRORS : EXIT_OK;
}

function withBudgetText(shown: ShownModel, model: IRModel, result: CheckResult): ShownModel {
  return {
    ...shown,
    budgets: model.budgets.map((b, i) => {
      const text = result.sources.get(b.span.file)?.text.slice(b.span.offset, b.span.offset + b.span.length) ?? `${b.metric} ${b.op} ${b.limit}`;
      return { text: text.replace(/\s+/g, " ").trim(), origin: shown.budgets[i]!.origin };
    }),
  };
}

function formatValue(value: unknown): string {
  if (value === null) return "none";
  if (typeof value === "number") return Number.isInteger(value) && Math.abs(value) >= 10_000 ? value.toLocaleString("en-US") : String(value);
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `(${value.map(formatValue).join(", ")})`;
  if (typeof value === "object") {
    return `{ ${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${snake(k)}: ${formatValue(v)}`).join(", ")} }`;
  }
  return String(value);
}

function formatOrigin(o: Origin): string {
  if (o.kind === "default") return "default";
  if (o.kind === "derived") return `derived from ${o.from}`;
  return `${o.kind === "import" ? "import " : ""}${o.file}:${o.line}:${o.column}`;
}

/** `(width: spec.peer:12:11)`: where the block parameters a value uses were written. */
function formatParams(params: ShownValue["params"]): string {
  if (!params?.length) return "";
  const one = (p: NonNullable<ShownValue["params"]>[number]) => `${p.param}: ${p.how === "default" ? "default at " : ""}${formatOrigin(p.origin)}`;
  return ` (${params.map(one).join(", ")})`;
}

function table(rows: readonly ShownValue[], indent: string): string[] {
  const keyWidth = Math.max(...rows.map((r) => r.key.length));
  const valueWidth = Math.max(...rows.map((r) => formatValue(r.value).length));
  return rows.map((r) => `${indent}${r.key.padEnd(keyWidth)}  ${formatValue(r.value).padEnd(valueWidth)}  ${formatOrigin(r.origin)}${formatParams(r.params)}`.trimEnd());
}

export function renderText(m: ShownModel): string {
  const out: string[] = [`model ${m.name}  (${m.file}, spec ${m.hash.slice(0, 12)})`];
  if (m.sweep) out.push(`  sweep: ${m.sweep.map((s) => `${s.name}=${s.value}`).join(", ")}`);
  out.push(...table(m.model, "  "), "", "layers");
  for (const layer of m.layers) {
    // A layer from a block: first the call in the spec (where its arguments are given), then the block's line.
    const via = layer.calls.map((c) => `${formatOrigin(c.origin)} ${c.block}(…) → `).join("");
    out.push(`  ${layer.path}  ${layer.kind}  ${via}${formatOrigin(layer.origin)}`);
    if (layer.values.length) out.push(...table(layer.values, "      "));
  }
  out.push("", m.trainSection ? "train" : "train (no train section: the defaults of a run without one)");
  out.push(...table(m.train, "  "));
  out.push("", "budgets");
  if (m.budgets.length === 0) out.push("  none");
  for (const b of m.budgets) out.push(`  ${b.text}  ${formatOrigin(b.origin)}`);
  return out.join("\n") + "\n";
}
