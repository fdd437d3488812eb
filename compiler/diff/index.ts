/**
 * `diffReports`: what a change does to every figure — per model, per total and
 * per layer, absolute and relative — for a terminal, a PR comment or a machine.
 */
import type { LayerJson, ModelJson, ReportJson } from "../report/schema.js";
import { mdTable, textTable, type Column } from "../report/text-table.js";
import { formatBytes, formatCount, formatFlops, formatPercent, formatSeconds } from "../report/units.js";
import { UsageError } from "../../diagnostics/errors.js";

export interface DiffOptions {
  readonly format: "table" | "md" | "json";
  /** Which models to compare (`--model OLD=NEW` or `--model NAME`); all, matched by name, when absent. */
  readonly models?: readonly ModelPair[];
  /** What was compared, as given on the command line ("main:specs/x.peer"), for the heading. */
  readonly sources?: { readonly before: string; readonly after: string };
  /** `--fail-on` results, shown after the deltas and carried in the JSON. */
  readonly failOn?: readonly FailOnResult[];
}

/** One `--fail-on` rule on one model (compiler/diff/fail-on.ts). */
export interface FailOnResult {
  readonly rule: string;
  readonly model: string;
  readonly figure: string;
  readonly kind: "relative" | "delta" | "value";
  /** The relative change, the delta or the value compared; null when it cannot be computed (see `text`). */
  readonly observed: number | null;
  readonly failed: boolean;
  readonly text: string;
}

/** A model of the old report compared with one of the new (same name unless renamed). */
export interface ModelPair {
  readonly before: string;
  readonly after: string;
}

export type Unit = "count" | "flops" | "bytes" | "seconds" | "number";

export interface FigureDelta {
  readonly figure: string;
  readonly unit: Unit;
  readonly before: number | null;
  readonly after: number | null;
  readonly delta: number | null;
  /** delta / before; null when before is 0 or missing. */
  readonly relative: number | null;
}

export interface LayerDelta {
  readonly path: string;
  readonly status: "added" | "removed" | "changed";
  readonly kindBefore: string | null;
  readonly kindAfter: string | null;
  readonly figures: readonly FigureDelta[];
}

export interface ModelDelta {
  readonly name: string;
  /** The old model's name when `--model OLD=NEW` paired two names; null otherwise. */
  readonly renamedFrom: string | null;
  readonly status: "added" | "removed" | "changed" | "unchanged";
  readonly hashBefore: string | null;
  readonly hashAfter: string | null;
  readonly totals: readonly FigureDelta[];
  readonly layers: readonly LayerDelta[];
}

export const TOTAL_FIGURES: readonly [string, Unit, (m: ModelJson) => number | null][] = [
  ["params", "count", (m) => m.totals.params],
  ["active_params", "count", (m) => m.totals.active_params],
  ["flops_per_token.forward", "flops", (m) => m.totals.flops_per_token.forward],
  ["flops_per_token.train", "flops", (m) => m.totals.flops_per_token.train],
  ["weights_bytes.fp32", "bytes", (m) => m.totals.memory_bytes.weights.fp32],
  ["traffic_bytes_per_token.bf16", "bytes", (m) => m.totals.traffic_bytes_per_token.bf16],
  ["train.steps", "number", (m) => m.totals.train?.steps ?? null],
  ["train.total_flops", "flops", (m) => m.totals.train?.total_flops ?? null],
  ["train.peak_memory.fp32", "bytes", (m) => m.totals.train?.peak_memory_bytes.fp32.total ?? null],
  ["train.peak_memory.bf16", "bytes", (m) => m.totals.train?.peak_memory_bytes.bf16.total ?? null],
  ["step_seconds.h100", "seconds", (m) => m.totals.roofline.find((r) => r.target === "h100")?.step_seconds ?? null],
];

const LAYER_FIGURES: readonly [string, Unit, (l: LayerJson) => number][] = [
  ["params", "count", (l) => l.params],
  ["active_params", "count", (l) => l.active_params],
  ["flops_per_token.forward", "flops", (l) => l.flops_per_token.forward],
  ["train_memory.fp32", "bytes", (l) => l.memory_bytes.train.fp32.total],
];

function figure(name: string, unit: Unit, before: number | null, after: number | null): FigureDelta {
  const delta = before !== null && after !== null ? after - before : null;
  const relative = delta !== null && before !== null && before !== 0 ? delta / before : null;
  return { figure: name, unit, before, after, delta, relative };
}

const changed = (f: FigureDelta) => f.before !== f.after;

function layerDeltas(before: ModelJson | null, after: ModelJson | null): LayerDelta[] {
  const old = new Map((before?.layers ?? []).map((l) => [l.path, l]));
  const now = new Map((after?.layers ?? []).map((l) => [l.path, l]));
  const out: LayerDelta[] = [];
  // New order first, removed layers after the layer they followed.
  const paths = [...new Set([...now.keys(), ...old.keys()])];
  for (const path of paths) {
    const a = old.get(path) ?? null;
    const b = now.get(path) ?? null;
    const figures = LAYER_FIGURES.map(([name, unit, get]) => figure(name, unit, a ? get(a) : null, b ? get(b) : null));
    const status = a === null ? "added" : b === null ? "removed" : "changed";
    if (status === "changed" && !figures.some(changed) && a!.kind === b!.kind) continue;
    out.push({ path, status, kindBefore: a?.kind ?? null, kindAfter: b?.kind ?? null, figures });
  }
  return out;
}

export function diffModels(before: ReportJson, after: ReportJson, pairs?: readonly ModelPair[]): ModelDelta[] {
  const old = new Map(before.models.map((m) => [m.name, m]));
  const now = new Map(after.models.map((m) => [m.name, m]));
  if (pairs !== undefined) {
    for (const p of pairs) {
      if (!old.has(p.before)) throw new UsageError(`--model: the old side has no model '${p.before}'`, `its models: ${[...old.keys()].join(", ") || "none"}`);
      if (!now.has(p.after)) throw new UsageError(`--model: the new side has no model '${p.after}'`, `its models: ${[...now.keys()].join(", ") || "none"}`);
    }
    return pairs.map((p) => modelDelta(p.after, p.before !== p.after ? p.before : null, old.get(p.before)!, now.get(p.after)!));
  }
  const names = [...new Set([...now.keys(), ...old.keys()])];
  return names.map((name) => modelDelta(name, null, old.get(name) ?? null, now.get(name) ?? null));
}

function modelDelta(name: string, renamedFrom: string | null, a: ModelJson | null, b: ModelJson | null): ModelDelta {
  const totals = TOTAL_FIGURES.map(([f, unit, get]) => figure(f, unit, a ? get(a) : null, b ? get(b) : null));
  const layers = layerDeltas(a, b);
  const status = a === null ? "added" : b === null ? "removed" : totals.some(changed) || layers.length > 0 ? "changed" : "unchanged";
  return { name, renamedFrom, status, hashBefore: a?.hash ?? null, hashAfter: b?.hash ?? null, totals, layers };
}

export function show(unit: Unit, v: number | null): string {
  if (v === null) return "—";
  switch (unit) {
    case "count":
      return formatCount(v);
    case "flops":
      return formatFlops(v);
    case "bytes":
      return formatBytes(v);
    case "seconds":
      return formatSeconds(v);
    case "number":
      return String(v);
  }
}

export function signed(unit: Unit, v: number | null): string {
  if (v === null) return "—";
  if (v === 0) return "0";
  const text = show(unit, Math.abs(v));
  return (v > 0 ? "+" : "−") + text;
}

export function relative(r: number | null): string {
  if (r === null) return "—";
  if (r === 0) return "0%";
  return (r > 0 ? "+" : "−") + formatPercent(Math.abs(r));
}

const FIGURE_COLUMNS: readonly Column[] = [
  { title: "figure", align: "left" },
  { title: "before", align: "right" },
  { title: "after", align: "right" },
  { title: "Δ", align: "right" },
  { title: "Δ%", align: "right" },
];

const LAYER_COLUMNS: readonly Column[] = [
  { title: "layer", align: "left" },
  { title: "change", align: "left" },
  { title: "params", align: "right" },
  { title: "fwd FLOP/token", align: "right" },
  { title: "train mem fp32", align: "right" },
];

function layerCells(l: LayerDelta): string[] {
  const get = (name: string) => l.figures.find((f) => f.figure === name)!;
  const cell = (f: FigureDelta) =>
    l.status === "changed" ? `${signed(f.unit, f.delta)} (${relative(f.relative)})` : show(f.unit, l.status === "added" ? f.after : f.before);
  const kind = l.kindBefore !== null && l.kindAfter !== null && l.kindBefore !== l.kindAfter ? `${l.kindBefore} → ${l.kindAfter}` : l.kindAfter ?? l.kindBefore ?? "";
  return [l.path, `${l.status} ${kind}`.trim(), cell(get("params")), cell(get("flops_per_token.forward")), cell(get("train_memory.fp32"))];
}

export function diffReports(before: ReportJson, after: ReportJson, opts: DiffOptions): string {
  const models = diffModels(before, after, opts.models);
  const failOn = opts.failOn;
  if (opts.format === "json") {
    const doc: DiffJson = { schema: "peerc.diff/v1", models, ...(failOn !== undefined ? { fail_on: [...failOn] } : {}) };
    return JSON.stringify(doc, null, 2) + "\n";
  }
  const md = opts.format === "md";
  const table = md ? mdTable : (c: readonly Column[], r: readonly (readonly string[])[]) => textTable(c, r);
  const src = opts.sources;
  const out: string[] = md
    ? [src ? `## peerc diff \`${escapeTick(src.before)}\` → \`${escapeTick(src.after)}\`` : "## peerc diff", ""]
    : src
      ? [`diff ${src.before} → ${src.after}`, ""]
      : [];
  for (const m of models) {
    const title = m.renamedFrom !== null ? `${m.renamedFrom} → ${m.name}` : m.name;
    const heading = `model ${title}: ${m.status}`;
    out.push(md ? `### \`${title}\`: ${m.status}` : heading, "");
    if (m.status === "unchanged") continue;
    const rows = m.totals
      .filter((f) => changed(f) || m.status !== "changed")
      .map((f) => [f.figure, show(f.unit, f.before), show(f.unit, f.after), signed(f.unit, f.delta), relative(f.relative)]);
    if (rows.length > 0) out.push(table(FIGURE_COLUMNS, rows), "");
    if (m.layers.length > 0) {
      out.push(md ? "**Layers**" : "layers", "");
      out.push(table(LAYER_COLUMNS, m.layers.map(layerCells)), "");
    }
  }
  if (failOn !== undefined && failOn.length > 0) {
    out.push(md ? "**Limits (`--fail-on`)**" : "limits (--fail-on)", "");
    for (const r of failOn) out.push(`${md ? "- " : "  "}${r.failed ? (md ? "❌" : "✗") : md ? "✅" : "✓"} ${r.text}`);
    out.push("");
  }
  return out.join("\n");
}

/** A backtick in a file name would end the code span early. */
function escapeTick(text: string): string {
  return text.replace(/`/g, "'");
}

export interface DiffJson {
  readonly schema: "peerc.diff/v1";
  readonly models: readonly ModelDelta[];
  readonly fail_on?: readonly FailOnResult[];
}
