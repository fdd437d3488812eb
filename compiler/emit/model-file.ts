/**
 * model.ts: the model's forward pass as straight-line tfjs code.
 *
 * The weights are created by the runtime's layer factories from the literal
 * ARCHITECTURE (same names, same seeded initialisation as the generic model),
 * so "same weights" holds by construction; this file only replaces the
 * forward: one function per layer with literal shapes, composed in order with
 * the residual connections spelled out.
 */
import type { IRLayer, IRModel, IRResidual } from "../../ir/types.js";
import type { LayerCost } from "../cost/types.js";
import type { EmitContext } from "./context.js";
import { tsHeader } from "./header.js";
import { NameScope } from "./names.js";
import { commentText, tsString, tsValuePretty } from "./strings.js";
import { architectureOf } from "./architecture.js";
import { layerCostLine } from "./cost-comment.js";
import type { LayerEmission, LayerEmitEnv, TableRef, WeightGroup, WeightRef } from "./layers/types.js";
import { emitMoe } from "./layers/moe.js";
import { emitEmbed, emitFfw, emitNorm, emitPositions } from "./layers/dense.js";
import { emitAttention } from "./layers/attention.js";
import { emitLmHead } from "./layers/head.js";
import { emitPeer, emitPkm, type HeadLayouts } from "./layers/product-key.js";
import { lit, shapeLit } from "./layers/common.js";

/** Identifiers the file declares itself; layer names must not take them. */
const FILE_NAMES = [
  "tf", "Weights", "ForwardContext", "NamedVariable", "buildModel", "applyRope", "causalMask",
  "positionIdsFor", "kvHeadIndex", "ropeTables", "ropeCache", "GELU_TANH_C", "ARCHITECTURE", "MODEL_NAME", "SPEC_HASH", "bindWeights",
  "forward", "createModel", "EmittedModel", "variableNamed", "bufferNamed", "tableNamed", "w", "ctx", "ids", "x", "detach",
  "routeTokenChoice", "tokenChoiceCapacity", "expertChoiceCapacity", "loadBalancingLoss", "combineExperts",
  "ExpertTable", "productKeyTopk", "selectedScoresFromKeys", "peerExperts", "pkmValues", "readHost",
  "QUERY_BN_MOMENTUM", "QUERY_NORM_EPS",
];

/** Runtime helpers the emitted layers may call, imported only when used. */
const HELPERS = [
  "detach", "routeTokenChoice", "tokenChoiceCapacity", "expertChoiceCapacity", "loadBalancingLoss", "combineExperts",
  "productKeyTopk", "selectedScoresFromKeys", "peerExperts", "pkmValues", "readHost",
];

interface EmittedLayer {
  readonly layer: IRLayer;
  readonly emission: LayerEmission;
}

function emitLayers(model: IRModel, headLayout: HeadLayouts | undefined): EmittedLayer[] {
  const fields = new NameScope(FILE_NAMES);
  const functions = new NameScope(FILE_NAMES);
  const byName = new Map<string, string>();
  const env: LayerEmitEnv = { model, fields, functions, weightField: (name) => byName.get(name), ...(headLayout ? { headLayout } : {}) };
  let embeddingName: string | null = null;
  const out: EmittedLayer[] = [];
  for (const layer of model.layers) {
    let emission: LayerEmission;
    switch (layer.kind) {
      case "embed":
        emission = emitEmbed(layer, env);
        embeddingName = `${layer.path}.weight`;
        break;
      case "positions":
        emission = emitPositions(layer, env);
        break;
      case "norm":
        emission = emitNorm(layer, env);
        break;
      case "attention":
        emission = emitAttention(layer, env);
        break;
      case "ffw":
        emission = emitFfw(layer, env);
        break;
      case "lm_head":
        emission = emitLmHead(layer, env, embeddingName);
        break;
      case "moe":
        emission = emitMoe(layer, env);
        break;
      case "peer":
        emission = emitPeer(layer, env);
        break;
      case "pkm":
        emission = emitPkm(layer, env);
        break;
    }
    for (const ref of emission.weights) byName.set(ref.name, ref.field);
    out.push({ layer, emission });
  }
  return out;
}

/** The body of `forward`: layers in order, each residual range as `x + f(x)`. */
function forwardBody(model: IRModel, layers: readonly EmittedLayer[]): string[] {
  if (layers[0]?.layer.kind !== "embed") throw new Error(`model ${model.name}: the first layer must be embed`);
  const lines: string[] = [`let x: tf.Tensor2D = ${layers[0].emission.call("ids")};`];
  let depth = 0;
  /** The widest residual starting at `i` inside [.., end), excluding `self`. */
  const residualAt = (i: number, end: number, self: IRResidual | null): IRResidual | undefined =>
    model.residuals
      .filter((r) => r.start === i && r.end <= end && r !== self)
      .sort((a, b) => b.end - a.end)[0];

  /** Statements applying layers [start, end) to the variable `v` in place. */
  const range = (start: number, end: number, v: string, self: IRResidual | null, indent: string): void => {
    let i = start;
    while (i < end) {
      const r = residualAt(i, end, self);
      if (!r) {
        lines.push(`${indent}${v} = ${layers[i]!.emission.call(v)};`);
        i++;
        continue;
      }
      lines.push(`${indent}// residual ${commentText(r.path)}: ${v} + f(${v})`);
      const simple = !model.residuals.some((o) => o !== r && o.start >= r.start && o.end <= r.end);
      if (simple) {
        let expr = v;
        for (let j = r.start; j < r.end; j++) expr = layers[j]!.emission.call(expr);
        lines.push(`${indent}${v} = tf.add(${v}, ${expr});`);
      } else {
        const h = `h$${++depth}`; // "$" never appears in a name derived from the spec
        lines.push(`${indent}{`);
        lines.push(`${indent}  let ${h}: tf.Tensor2D = ${v};`);
        range(r.start, r.end, h, r, indent + "  ");
        lines.push(`${indent}  ${v} = tf.add(${v}, ${h});`);
        lines.push(`${indent}}`);
      }
      i = r.end;
    }
  };
  range(1, layers.length, "x", null, "");
  lines.push("return x;");
  return lines;
}

function costOf(costs: readonly LayerCost[], path: string): LayerCost | undefined {
  return costs.find((c) => c.path === path);
}

export function emitModelFile(ctx: EmitContext): string {
  const { model } = ctx;
  const layers = emitLayers(model, ctx.headLayout);
  const weights: WeightRef[] = layers.flatMap((l) => l.emission.weights);
  const groups: WeightGroup[] = layers.flatMap((l) => l.emission.groups ?? []);
  const buffers: WeightRef[] = layers.flatMap((l) => l.emission.buffers);
  const tables: TableRef[] = layers.flatMap((l) => l.emission.tables);
  const uses = (s: string) => layers.some((l) => l.emission.code.includes(s));

  const imports = ["buildModel"];
  if (uses("applyRope(")) imports.push("applyRope");
  if (uses("causalMask(")) imports.push("causalMask");
  if (uses("positionIdsFor(")) imports.push("positionIdsFor");
  for (const helper of HELPERS) {
    if (uses(`${helper}(`)) imports.push(helper);
  }
  if (tables.length > 0) imports.push("ExpertTable");
  for (const constant of ["QUERY_BN_MOMENTUM", "QUERY_NORM_EPS"]) {
    if (uses(constant)) imports.push(constant);
  }
  imports.push("type BuildOptions", "type ForwardContext", "type ForwardMode", "type ForwardResult", "type LanguageModel", "type RoutingRecord");
  imports.splice(1, 0, "crossEntropyLoss");
  imports.sort((a, b) => a.replace("type ", "").localeCompare(b.replace("type ", "")));

  const parts: string[] = [];
  parts.push(tsHeader(ctx.header));
  parts.push(`import * as tf from "@tensorflow/tfjs";`);
  const importLine = `import { ${imports.join(", ")} } from ${tsString(ctx.runtimeImport)};`;
  parts.push(importLine.length <= 100 ? importLine : `import {\n${imports.map((i) => `  ${i},`).join("\n")}\n} from ${tsString(ctx.runtimeImport)};`);
  parts.push("");
  parts.push(`export const MODEL_NAME = ${tsString(model.name)};`);
  parts.push(`export const SPEC_HASH = ${tsString(model.hash)};`);
  parts.push("");
  parts.push("/** The resolved architecture (the checked IR without source spans): the runtime creates the weights from it. */");
  parts.push(`export const ARCHITECTURE = ${tsValuePretty(architectureOf(model))} as const;`);
  parts.push("");
  if (uses("GELU_TANH_C")) parts.push("const GELU_TANH_C = Math.sqrt(2 / Math.PI);\n");
  if (uses("ropeTables(")) {
    parts.push(`const ropeCache = new Map<string, { cos: tf.Tensor2D; sin: tf.Tensor2D; rotate: tf.Tensor2D }>();
/**
 * RoPE (rotate-half per head, the runtime's convention) as x·cos + (x·rotate)·sin on [B·T, heads·headDim]:
 * cos, sin [T, heads·headDim] times scale, rotate the ±1 permutation x ↦ (−x2, x1) per head.
 * Built once per shape from host arrays (never on the gradient tape) and kept across steps.
 */
function ropeTables(seqLen: number, heads: number, headDim: number, base: number, scale: number): { cos: tf.Tensor2D; sin: tf.Tensor2D; rotate: tf.Tensor2D } {
  const key = \`\${seqLen}:\${heads}:\${headDim}:\${base}:\${scale}\`;
  let tables = ropeCache.get(key);
  if (!tables || tables.cos.isDisposed) {
    const width = heads * headDim;
    const half = headDim / 2;
    const cos = new Float32Array(seqLen * width);
    const sin = new Float32Array(seqLen * width);
    for (let t = 0; t < seqLen; t++) {
      for (let c = 0; c < width; c++) {
        const angle = t * Math.pow(base, (-2 * ((c % headDim) % half)) / headDim);
        cos[t * width + c] = Math.fround(Math.cos(angle)) * scale;
        sin[t * width + c] = Math.fround(Math.sin(angle)) * scale;
      }
    }
    const rotate = new Float32Array(width * width);
    for (let c = 0; c < width; c++) {
      const i = c % headDim;
      // column c of x·rotate: −x[c + half] in the first half of a head, x[c − half] in the second
      if (i < half) rotate[(c + half) * width + c] = -1;
      else rotate[(c - half) * width + c] = 1;
    }
    tables = {
      cos: tf.keep(tf.tensor2d(cos, [seqLen, width])),
      sin: tf.keep(tf.tensor2d(sin, [seqLen, width])),
      rotate: tf.keep(tf.tensor2d(rotate, [width, width])),
    };
    ropeCache.set(key, tables);
  }
  return tables;
}
`);
  }
  if (uses("kvHeadIndex(")) {
    parts.push(`const kvHeadIndices = new Map<string, tf.Tensor1D>();
/** Constant int32 head map, built once and kept across steps. */
function kvHeadIndex(ids: number[]): tf.Tensor1D {
  const key = ids.join(",");
  let t = kvHeadIndices.get(key);
  if (!t || t.isDisposed) {
    t = tf.keep(tf.tensor1d(ids, "int32"));
    kvHeadIndices.set(key, t);
  }
  return t;
}
`);
  }

  for (const g of groups) {
    parts.push(`/** One member of ${commentText(g.prefix + "<i>")}. */`);
    parts.push(`interface ${g.typeName} {`);
    for (const p of g.parts) parts.push(`  /** ${commentText(p.part)} ${shapeLit(p.shape)} */\n  readonly ${p.property}: tf.Variable;`);
    parts.push("}");
    parts.push("");
  }
  parts.push("/** Every weight the forward reads, by the runtime's variable name. */");
  parts.push("interface Weights {");
  for (const ref of weights) parts.push(`  /** ${commentText(ref.name)} ${shapeLit(ref.shape)} */\n  readonly ${ref.field}: tf.Variable;`);
  for (const g of groups) parts.push(`  /** ${commentText(g.prefix + "<i>.*")}, i < ${g.count} */\n  readonly ${g.field}: readonly ${g.typeName}[];`);
  for (const ref of buffers) parts.push(`  /** ${commentText(ref.name)} ${shapeLit(ref.shape)} (buffer, not trained) */\n  readonly ${ref.field}: tf.Variable;`);
  for (const t of tables) parts.push(`  /** ${commentText(t.name)} [${t.rows}, ${t.cols}] (expert table, outside tfjs) */\n  readonly ${t.field}: ExpertTable;`);
  parts.push("}");
  parts.push("");

  parts.push(`function variableNamed(model: LanguageModel, name: string, shape: readonly number[]): tf.Variable {
  for (const layer of model.layers) {
    for (const v of layer.variables) {
      if (v.name !== name) continue;
      if (v.variable.shape.join(",") !== shape.join(",")) {
        throw new Error(\`\${name}: the runtime made shape [\${v.variable.shape.join(", ")}], this trainer expects [\${shape.join(", ")}]; regenerate it with peerc compile\`);
      }
      return v.variable;
    }
  }
  throw new Error(\`\${name}: no such variable in the runtime model; regenerate this trainer with peerc compile\`);
}
`);
  if (buffers.length > 0) {
    parts.push(`function bufferNamed(model: LanguageModel, name: string, shape: readonly number[]): tf.Variable {
  const buffer = model.buffers().find((b) => b.name === name);
  if (!buffer) throw new Error(\`\${name}: no such buffer in the runtime model; regenerate this trainer with peerc compile\`);
  if (buffer.tensor.shape.join(",") !== shape.join(",")) {
    throw new Error(\`\${name}: the runtime made shape [\${buffer.tensor.shape.join(", ")}], this trainer expects [\${shape.join(", ")}]; regenerate it with peerc compile\`);
  }
  return buffer.tensor;
}
`);
  }
  if (tables.length > 0) {
    parts.push(`function tableNamed(model: LanguageModel, name: string, rows: number, cols: number): ExpertTable {
  const table = model.sparseTables.find((t) => t.name === name);
  if (!(table instanceof ExpertTable)) throw new Error(\`\${name}: no such expert table in the runtime model; regenerate this trainer with peerc compile\`);
  if (table.rows !== rows || table.cols !== cols) {
    throw new Error(\`\${name}: the runtime made [\${table.rows}, \${table.cols}], this trainer expects [\${rows}, \${cols}]; regenerate it with peerc compile\`);
  }
  return table;
}
`);
  }
  parts.push("function bindWeights(model: LanguageModel): Weights {");
  parts.push("  return {");
  for (const ref of weights) parts.push(`    ${ref.field}: variableNamed(model, ${tsString(ref.name)}, ${shapeLit(ref.shape)}),`);
  for (const g of groups) {
    // Names are built by concatenation with escaped literals: a spec path never enters a template literal.
    const members = g.parts.map((p) => `${p.property}: variableNamed(model, ${tsString(g.prefix)} + i + ${tsString("." + p.part)}, ${shapeLit(p.shape)})`);
    parts.push(`    ${g.field}: Array.from({ length: ${g.count} }, (_, i) => ({ ${members.join(", ")} })),`);
  }
  for (const ref of buffers) parts.push(`    ${ref.field}: bufferNamed(model, ${tsString(ref.name)}, ${shapeLit(ref.shape)}),`);
  for (const t of tables) parts.push(`    ${t.field}: tableNamed(model, ${tsString(t.name)}, ${lit(t.rows)}, ${lit(t.cols)}),`);
  parts.push("  };");
  parts.push("}");
  parts.push("");

  for (const l of layers) {
    const cost = costOf(ctx.cost.layers, l.layer.path);
    parts.push(`/** ${commentText(l.layer.path)} — ${describe(l.layer)}`);
    if (cost) parts.push(` *  ${layerCostLine(cost)}`);
    parts.push(" */");
    parts.push(l.emission.code);
    parts.push("");
  }

  parts.push("/** ids: int32 [batch·seqLen] → logits [batch·seqLen, vocab]. */");
  parts.push(`export function forward(w: Weights, ids: tf.Tensor1D, ctx: ForwardContext): tf.Tensor2D {`);
  for (const line of forwardBody(model, layers)) parts.push("  " + line);
  parts.push("}");
  parts.push("");
  parts.push(`/**
 * The model: the runtime's parameters (seeded from \`options.seed\`, named as in
 * the generic model) with this file's forward.
 */
export function createModel(options: BuildOptions): LanguageModel {
  const model = buildModel(ARCHITECTURE, options);
  const w = bindWeights(model);
  const run = (ids: tf.Tensor2D, mode: ForwardMode, recordRouting: ((record: RoutingRecord) => void) | null): ForwardResult => {
    if (ids.dtype !== "int32" || ids.rank !== 2) throw new Error(\`forward expects int32 ids [batch, seqLen], got \${ids.dtype} [\${ids.shape}]\`);
    const [batch, seqLen] = ids.shape;
    const auxLosses: tf.Scalar[] = [];
    const ctx: ForwardContext = { training: mode === "train", batch, seqLen, addAuxLoss: (l) => auxLosses.push(l), recordRouting };
    const logits = forward(w, tf.reshape(ids, [-1]), ctx);
    const auxLoss = auxLosses.length === 0 ? null : (auxLosses.reduce((a, b) => tf.add(a, b)) as tf.Scalar);
    return { logits, auxLoss };
  };
  return {
    ...model,
    forward: (ids, mode, recordRouting) => run(ids, mode, recordRouting ?? null),
    loss(ids, targets, mode) {
      const { logits, auxLoss } = run(ids, mode, null);
      const crossEntropy = crossEntropyLoss(logits, targets);
      return { loss: auxLoss ? (tf.add(crossEntropy, auxLoss) as tf.Scalar) : crossEntropy, crossEntropy, auxLoss };
    },
  };
}
`);
  return parts.join("\n");
}

/** One line of configuration for the comment above a layer function. */
function describe(layer: IRLayer): string {
  switch (layer.kind) {
    case "embed":
      return `embed ${layer.vocab} × ${layer.dim}`;
    case "positions":
      return `learned positions ${layer.context} × ${layer.dim}`;
    case "norm":
      return `${layer.type === "rms" ? "RMSNorm" : "LayerNorm"} over ${layer.dim}, eps ${layer.eps}`;
    case "attention":
      return `attention: ${layer.heads} heads × ${layer.headDim}${layer.kvHeads !== layer.heads ? `, ${layer.kvHeads} kv heads` : ""}${layer.causal ? ", causal" : ""}${layer.rope ? `, RoPE base ${layer.rope.base}` : ""}`;
    case "ffw":
      return `feed-forward ${layer.dModel} → ${layer.hidden} → ${layer.dModel}, ${layer.act}${layer.glu ? ", GLU" : ""}`;
    case "moe":
      return `MoE: ${layer.experts} experts of ${layer.hidden}, ${layer.routing} choice, top-${layer.topk}, capacity ${layer.capacity}`;
    case "pkm":
      return `PKM: ${layer.memories} memories (${layer.subKeys}² product keys), ${layer.heads} heads, top-${layer.topk}, value dim ${layer.valueDim}`;
    case "peer":
      return `PEER: ${layer.experts} experts (${layer.subKeys}² product keys), ${layer.heads} heads × top-${layer.topk}, key dim ${layer.keyDim}, ${layer.act}, ${layer.scores} scores, query norm ${layer.queryNorm}, ${layer.keys} keys`;
    case "lm_head":
      return `LM head ${layer.dModel} → ${layer.vocab}${layer.tied ? ", tied to the embedding" : ""}`;
  }
}
