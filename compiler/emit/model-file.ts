/**
 * model.ts: the model's forward pass as straight-line tfjs code.
 *
 * The weights are created by the runtime from the literal ARCHITECTURE (same
 * names, same seeded initialisation as the generic model) and bound into one
 * nested object (`weightTree`), so "same weights" holds by construction; this
 * file only replaces the forward. One function per distinct layer
 * specialisation (kinds/<kind>/emit.ts) and one per distinct block, called per
 * index with that index's weights; the residual connections spelled out.
 */
import type { IRLayer, IRModel } from "../../ir/types.js";
import type { LayerCost } from "../cost/types.js";
import type { EmitContext } from "./context.js";
import { tsHeader } from "./header.js";
import { NameScope } from "./names.js";
import { commentText, tsString, tsValue, tsValuePretty } from "./strings.js";
import { architectureOf } from "./architecture.js";
import { emittedCostLine, emittedForward, flopsText } from "./cost-comment.js";
import { modelWeights, WeightTypes } from "./weight-tree.js";
import { layerCall, layerFunctions, type LayerFunction } from "./layer-functions.js";
import { access } from "./code.js";
import { forwardItems, type ForwardItem, renderItems } from "./forward.js";
import { hasLayerKernels } from "./kernels-file.js";

/** Identifiers the file declares or imports; function and type names must not take them. */
const FILE_NAMES = [
  "tf", "Weights", "ForwardContext", "ARCHITECTURE", "MODEL_NAME", "SPEC_HASH", "WEIGHT_COUNT", "forward", "createModel",
  "w", "e", "ex", "ctx", "ids", "x", "i", "path", "expert", "BuildOptions", "LanguageModel", "ExpertTable", "emittedModel",
  "LAYER_KERNELS",
];

/** Runtime functions the emitted code may call, imported only when used. */
const HELPERS = [
  "activate", "linear", "rmsNorm", "layerNorm", "causalMask", "positionIdsFor", "ropeTables", "rotary", "kvHeadIndex",
  "detach", "routeTokenChoice", "tokenChoiceCapacity", "expertChoiceCapacity", "loadBalancingLoss", "combineExperts",
  "productKeySearch", "selectedScoresFromKeys", "peerExperts", "pkmValues", "queryBatchNorm", "queryLayerNorm",
  "registerEmittedKernels",
];

function costOf(ctx: EmitContext, path: string): LayerCost | undefined {
  return ctx.cost.layers.find((c) => c.path === path);
}

function signature(fn: LayerFunction): string {
  const e = fn.emission;
  const params = [
    ...(fn.weights ? [`w: ${fn.weights}`] : []),
    ...(fn.tied ? [`e: ${fn.tied}`] : []),
    e.input === "ids" ? "ids: tf.Tensor1D" : "x: tf.Tensor2D",
    ...(e.usesCtx ? ["ctx: ForwardContext"] : []),
    ...(e.usesPath ? ["path: string"] : []),
  ];
  return `function ${fn.name}(${params.join(", ")}): tf.Tensor2D`;
}

function layerFunctionText(ctx: EmitContext, fn: LayerFunction): string {
  const first = fn.layers[0]!;
  const cost = costOf(ctx, first.path);
  const users = fn.layers.length === 1 ? commentText(first.path) : `${fn.layers.length} layers, ${commentText(first.path)} first`;
  const lines = [`/** ${fn.emission.summary} (${users})`];
  if (cost) lines.push(` *  ${emittedCostLine(cost, fn.emission.flops)}`);
  lines.push(" */", `${signature(fn)} {`, ...fn.emission.body.map((l) => "  " + l), "}");
  return lines.join("\n");
}

/** The import list from the runtime: what the code text uses. */
function runtimeImports(code: string): string[] {
  const names = HELPERS.filter((h) => new RegExp(`\\b${h}\\(`).test(code));
  if (/\bExpertTable\b/.test(code)) names.push("ExpertTable");
  names.push("emittedModel", "type BuildOptions", "type ForwardContext", "type LanguageModel");
  return names.sort((a, b) => a.replace("type ", "").localeCompare(b.replace("type ", "")));
}

function importLines(ctx: EmitContext, code: string, withKernels: boolean): string {
  const names = runtimeImports(code);
  const line = `import { ${names.join(", ")} } from ${tsString(ctx.runtimeImport)};`;
  const runtime = line.length <= 100 ? line : `import {\n${names.map((n) => `  ${n},`).join("\n")}\n} from ${tsString(ctx.runtimeImport)};`;
  const kernels = withKernels ? `\nimport { LAYER_KERNELS } from "./kernels.js";` : "";
  return `import * as tf from "@tensorflow/tfjs";\n${runtime}${kernels}`;
}

/** The ARCHITECTURE literal: what the runtime builds and trains from, one layer or residual per line. */
function architectureText(model: IRModel): string {
  const arch = architectureOf(model);
  const lines = ["/** What the runtime builds the weights from and trains with (budgets and the rest of the report: report.json). */"];
  lines.push("export const ARCHITECTURE = {");
  for (const [key, value] of Object.entries(arch).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (Array.isArray(value) && value.length > 0) {
      lines.push(`  ${key}: [`, ...value.map((v) => `    ${tsValue(v)},`), "  ],");
    } else {
      lines.push(`  ${key}: ${tsValuePretty(value, "  ")},`);
    }
  }
  lines.push("} as const;");
  return lines.join("\n");
}

function forwardText(model: IRModel, items: readonly ForwardItem[], call: (i: number, x: string) => string): string {
  if (model.layers[0]?.kind !== "embed") throw new Error(`model ${model.name}: the first layer must be embed`);
  return [
    "/** ids: int32 [batch·seqLen] → logits [batch·seqLen, vocab]. */",
    "export function forward(w: Weights, ids: tf.Tensor1D, ctx: ForwardContext): tf.Tensor2D {",
    `  let x: tf.Tensor2D = ${call(0, "ids")};`,
    ...renderItems(items, { call }).map((l) => "  " + l),
    "  return x;",
    "}",
  ].join("\n");
}

/** createModel; with WGSL kernels (kernels.ts), registered first: the runtime checks them against the layers. */
function createModelText(withKernels: boolean): string {
  return [
    "/** The model: the runtime's parameters (seeded from `options.seed`, named as in the generic model) with this file's forward. */",
    "export function createModel(options: BuildOptions): LanguageModel {",
    ...(withKernels ? ["  // The PEER/PKM layers' WGSL kernels (kernels.ts): run on webgpu in place of the runtime's generated text.", "  registerEmittedKernels(ARCHITECTURE, LAYER_KERNELS);"] : []),
    "  return emittedModel<Weights>(ARCHITECTURE, options, WEIGHT_COUNT, forward);",
    "}",
  ].join("\n");
}

/** The block's forward FLOPs per token as its code runs them (each layer's emitted figure). */
function blockCostLine(ctx: EmitContext, layers: readonly IRLayer[], fns: readonly LayerFunction[]): string {
  let fwd = 0;
  for (const l of layers) {
    const c = costOf(ctx, l.path);
    if (c) {
      const f = emittedForward(c, fns[l.index]?.emission.flops);
      fwd += f.matrix + f.elementwise;
    }
  }
  return `forward ${flopsText(fwd)}/token`;
}

export function emitModelFile(ctx: EmitContext): string {
  const { model } = ctx;
  const names = new NameScope([...FILE_NAMES, ...HELPERS]);
  const withKernels = hasLayerKernels(model);
  const weights = modelWeights(model);
  const types = new WeightTypes(names);
  const fns = layerFunctions(model, ctx, weights.root, types, names);
  const { items, blocks } = forwardItems(model, fns.byLayer, weights.root, types, names);
  types.declare(weights.root, "Weights", `/** The runtime's weights by name, nested: "a.0.b" is w.a[0].b. */`);

  const functions = fns.list.map((fn) => layerFunctionText(ctx, fn));
  for (const block of blocks) {
    functions.push([
      `/** One block of ${commentText(block.prefix)}, called for ${block.indices.length === 1 ? "index" : "indices"} ${block.indices.join(", ")}: ${block.summary}`,
      ` *  ${blockCostLine(ctx, block.layers, fns.byLayer)} each`,
      " */",
      block.text,
    ].join("\n"));
  }
  const call = (i: number, x: string) => layerCall(fns.byLayer[i]!, model.layers[i]!, x, (p) => access("w", p), (p) => tsString(p));
  const body = [
    architectureText(model),
    `/** Tensors the runtime binds into \`Weights\` (variables, buffers, expert tables). */\nconst WEIGHT_COUNT = ${weights.count};`,
    ...types.text,
    ...functions,
    forwardText(model, items, call),
    createModelText(withKernels),
  ].join("\n\n");
  return [
    tsHeader(ctx.header),
    importLines(ctx, body, withKernels),
    "",
    `export const MODEL_NAME = ${tsString(model.name)};`,
    `export const SPEC_HASH = ${tsString(model.hash)};`,
    "",
    body,
    "",
  ].join("\n");
}
