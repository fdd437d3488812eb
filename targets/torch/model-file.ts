/**
 * model.py: the model as PyTorch modules specialised to the spec. One class
 * per distinct layer (same kind and sizes = same class), literal shapes, a
 * cost comment per layer, and a straight-line forward with the residual
 * ranges opened and closed in the order of runtime/model/model.ts (at each
 * layer the outermost range starting there first).
 */
import type { LayerArchitecture, ModelArchitecture } from "../../ir/types.js";
import type { ModelCost } from "../../compiler/cost/types.js";
import { layerCostLine } from "../../compiler/emit/cost-comment.js";
import { KINDS } from "../../kinds/index.js";
import type { IRLayer } from "../../ir/types.js";
import { asLayer, initExpr, partAttribute, type TorchEmitter, type TorchLayer, type TorchLayerContext, type TorchPart } from "./kind-types.js";
import { pyFloat, pyIdentifiers, pyString, pyValue } from "./python.js";

interface LayerClass {
  readonly name: string;
  readonly layer: TorchLayer;
  readonly example: LayerArchitecture;
}

/** Layer fields that do not change the module's code. */
function signature(layer: LayerArchitecture): string {
  const { path: _path, index: _index, ...rest } = layer as LayerArchitecture & { argSpans?: unknown };
  delete (rest as { argSpans?: unknown }).argSpans;
  return JSON.stringify(rest);
}

/** The layer's module from its kind's `torch` emitter (kinds/<kind>/torch.ts). */
function torchLayer(layer: LayerArchitecture, ctx: TorchLayerContext): TorchLayer {
  const emit = KINDS[layer.kind].torch as TorchEmitter<IRLayer> | undefined;
  if (!emit) throw new Error(`layer kind ${layer.kind} has no torch emitter (kinds/${layer.kind}/torch.ts)`);
  return emit(asLayer(layer), ctx);
}

function className(layer: LayerArchitecture, n: number): string {
  const base = layer.kind.split("_").map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
  return `${base}${n}`;
}

function countBlocks(model: ModelArchitecture): number {
  const attention = model.layers.filter((l) => l.kind === "attention").length;
  return attention > 0 ? attention : Math.max(1, Math.floor(model.residuals.length / 2));
}

function partTuple(part: TorchPart): string {
  return `(${pyString(part.part)}, ${pyString(partAttribute(part.part))}, ${part.noDecay ? "True" : "False"}, ${initExpr(part.init)})`;
}

function classCode(cls: LayerClass): string[] {
  const { layer, example } = cls;
  const out: string[] = [];
  out.push(`class ${cls.name}(rt.LayerModule):`);
  out.push(`    """${example.kind}: ${describe(example)}"""`);
  out.push("");
  if (example.kind === "moe") {
    // The experts' parts repeat per expert: listed once as a template.
    const perExpert = layer.parts.filter((q) => q.part.startsWith("experts.0."));
    const template = perExpert.map((q) => {
      const rest = q.part.slice("experts.0.".length);
      return `(${pyString(`experts.%d.${rest}`)} % e, ${pyString(`experts_%d_${partAttribute(rest)}`)} % e, ${q.noDecay ? "True" : "False"}, ${initExpr(q.init)})`;
    });
    out.push(`    PARTS = (${partTuple(layer.parts[0]!)},) + tuple(`);
    out.push(`        t for e in range(${example.experts}) for t in (${template.join(", ")})`);
    out.push(`    )`);
  } else if (layer.parts.length > 0) {
    out.push(`    PARTS = (`);
    for (const part of layer.parts) out.push(`        ${partTuple(part)},`);
    out.push(`    )`);
  }
  if (layer.buffers.length > 0) out.push(`    BUFFERS = (${layer.buffers.map((b) => `(${pyString(b.part)}, ${pyString(partAttribute(b.part))})`).join(", ")},)`);
  if (layer.tables.length > 0) {
    out.push(`    TABLES = (`);
    for (const t of layer.tables) out.push(`        (${pyString(t.part)}, ${pyString(partAttribute(t.part))}, ${t.rows}, ${t.cols}, ${pyFloat(t.std)}),`);
    out.push(`    )`);
  }
  out.push("");
  out.push(`    def __init__(self, path):`);
  out.push(`        super().__init__()`);
  out.push(`        self.path = path`);
  if (example.kind === "moe") {
    out.push(`        for part, attr, _, _ in self.PARTS:`);
    out.push(`            shape = ${pyValue(layer.parts[0]!.shape)} if part == "router" else SHAPES_${cls.name}[part.split(".")[-1]]`);
    out.push(`            setattr(self, attr, torch.nn.Parameter(torch.zeros(*shape)))`);
  } else {
    for (const part of layer.parts) out.push(`        self.${partAttribute(part.part)} = torch.nn.Parameter(torch.zeros(${shapeArgs(part.shape)}))`);
  }
  for (const b of layer.buffers) out.push(`        self.register_buffer(${pyString(partAttribute(b.part))}, torch.${b.init.kind === "ones" ? "ones" : "zeros"}(${shapeArgs(b.shape)}))`);
  for (const t of layer.tables) out.push(`        self.${partAttribute(t.part)} = rt.ExpertTable(path + ${pyString("." + t.part)}, ${t.rows}, ${t.cols})`);
  out.push("");
  out.push(`    def forward(self, x, ctx${layer.needsEmbedding ? ", embedding" : ""}):`);
  for (const line of layer.body) out.push(`        ${line}`);
  return out;
}

function shapeArgs(shape: readonly number[]): string {
  return shape.join(", ");
}

function describe(l: LayerArchitecture): string {
  const fields = Object.entries(l)
    .filter(([k]) => k !== "path" && k !== "index" && k !== "kind" && k !== "argSpans")
    .map(([k, v]) => `${k} ${typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)}`);
  // Layer fields are numbers, booleans and enum words from the checker: no spec text.
  return fields.join(", ").replace(/"/g, "'");
}

/** Forward lines for layers [start, end) applied to variable `v`; nested residuals get fresh variables. */
function forwardLines(model: ModelArchitecture, attrs: readonly string[], start: number, end: number, v: string, open: Set<number>, depth: number, embedAttr: string | null): string[] {
  const lines: string[] = [];
  let i = start;
  while (i < end) {
    const candidates = model.residuals
      .map((r, n) => ({ r, n }))
      .filter(({ r, n }) => r.start === i && r.end <= end && !open.has(n))
      .sort((a, b) => b.r.end - a.r.end);
    const chosen = candidates[0];
    if (chosen) {
      const inner = `h${depth + 1}`;
      lines.push(`${inner} = ${v}  # residual ${chosen.r.path}: layers ${chosen.r.start}..${chosen.r.end - 1}`);
      lines.push(...forwardLines(model, attrs, chosen.r.start, chosen.r.end, inner, new Set([...open, chosen.n]), depth + 1, embedAttr));
      lines.push(`${v} = ${v} + ${inner}`);
      i = chosen.r.end;
    } else {
      const layer = model.layers[i]!;
      const extra = layer.kind === "lm_head" && layer.tied ? `, self.${embedAttr}.weight` : "";
      lines.push(`${v} = self.${attrs[i]}(${v}, ctx${extra})`);
      i++;
    }
  }
  return lines;
}

export interface TorchModelFileInput {
  readonly model: ModelArchitecture;
  readonly cost: ModelCost;
  readonly header: string;
  /** The sys.path lines that find peerc_runtime.py. */
  readonly runtimePath: readonly string[];
}

export function emitTorchModelFile({ model, cost, header, runtimePath }: TorchModelFileInput): string {
  const outputStd = 0.02 / Math.sqrt(2 * Math.max(1, countBlocks(model)));
  const classes = new Map<string, LayerClass>();
  const classOf: LayerClass[] = [];
  const counts = new Map<string, number>();
  for (const layer of model.layers) {
    const sig = signature(layer);
    let cls = classes.get(sig);
    if (!cls) {
      const n = (counts.get(layer.kind) ?? 0) + 1;
      counts.set(layer.kind, n);
      cls = { name: className(layer, n), layer: torchLayer(layer, { outputStd }), example: layer };
      classes.set(sig, cls);
    }
    classOf.push(cls);
  }
  const attrs = pyIdentifiers(model.layers.map((l) => l.path));
  const embed = model.layers.findIndex((l) => l.kind === "embed");
  const embedAttr = embed >= 0 ? attrs[embed]! : null;
  if (model.layers.some((l) => l.kind === "lm_head" && l.tied) && embedAttr === null) throw new Error(`${model.name}: a tied lm_head needs an embed layer`);

  const out: string[] = [header];
  out.push(`"""The ${model.name.replace(/[^A-Za-z0-9_ .\-[\]=]/g, "?")} model as PyTorch modules: weights named and laid out as docs/weights.md."""`);
  out.push("import os");
  out.push("import sys");
  out.push("");
  out.push("import torch");
  out.push("");
  out.push(...runtimePath);
  out.push("import peerc_runtime as rt  # noqa: E402");
  out.push("");
  out.push(`MODEL_NAME = ${pyString(model.name)}`);
  out.push(`SPEC_HASH = ${pyString(model.hash)}`);
  out.push(`VOCAB = ${model.vocab}`);
  out.push(`CONTEXT = ${model.context}`);
  out.push(`D_MODEL = ${model.dModel}`);
  out.push(`FORWARD_FLOPS_PER_TOKEN = ${Math.round(cost.totals.flopsPerToken.forward)}`);
  out.push("");
  for (const cls of classes.values()) {
    out.push("");
    if (cls.example.kind === "moe") {
      const shapes: Record<string, readonly number[]> = {};
      for (const q of cls.layer.parts.filter((x) => x.part.startsWith("experts.0."))) shapes[q.part.slice("experts.0.".length)] = q.shape;
      out.push(`SHAPES_${cls.name} = ${pyValue(shapes).replace(/\n\s*/g, " ").replace(/, }/, " }")}`);
      out.push("");
    }
    out.push(...classCode(cls));
    out.push("");
  }
  out.push("");
  out.push("class Model(rt.LanguageModel):");
  out.push(`    """${model.layers.length} layers, ${model.residuals.length} residual ranges; forward(ids [B, T]) -> logits [B·T, vocab]."""`);
  out.push("");
  out.push("    def __init__(self):");
  out.push("        super().__init__()");
  model.layers.forEach((layer, i) => {
    const lc = cost.layers[i];
    out.push(`        # ${layer.path} (${layer.kind}): ${lc ? layerCostLine(lc) : "no cost"}`);
    out.push(`        self.${attrs[i]} = ${classOf[i]!.name}(${pyString(layer.path)})`);
  });
  out.push(`        self.layer_list = [${model.layers.map((l, i) => `(${pyString(l.path)}, self.${attrs[i]})`).join(", ")}]`);
  out.push("");
  out.push("    def forward(self, ids, training, record_routing=None):");
  out.push("        ctx = rt.Context(training, ids.shape[0], ids.shape[1], record_routing)");
  out.push("        x = ids");
  out.push(...forwardLines(model, attrs, 0, model.layers.length, "x", new Set(), 0, embedAttr).map((l) => `        ${l}`));
  out.push("        return x, ctx");
  return out.join("\n") + "\n";
}
