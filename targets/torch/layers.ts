/**
 * Per-kind PyTorch emitters: each layer kind gives the weights of one module
 * (names and shapes of docs/weights.md, init, decay flag) and the body of its
 * forward with every size a literal. Layers with the same signature share one
 * class. A temporary registry: each entry moves to kinds/<kind>/torch.ts once
 * the kind records carry a `torch` field.
 */
import type { LayerArchitecture } from "../../ir/types.js";
import { pyFloat, pyNumber, pyString } from "./python.js";

export type TorchInit = { readonly kind: "normal"; readonly std: number } | { readonly kind: "uniform"; readonly bound: number } | { readonly kind: "zeros" } | { readonly kind: "ones" };

export interface TorchPart {
  /** Name after "<layer path>.": "wq", "query.bn.gamma", "experts.3.w_in". */
  readonly part: string;
  readonly shape: readonly number[];
  readonly init: TorchInit;
  readonly noDecay: boolean;
}

export interface TorchTable {
  readonly part: string;
  readonly rows: number;
  readonly cols: number;
  readonly std: number;
}

export interface TorchLayer {
  /** Dense trainable parameters. */
  readonly parts: readonly TorchPart[];
  /** Non-trainable state saved in checkpoints (BatchNorm running statistics). */
  readonly buffers: readonly TorchPart[];
  /** Row-sparse expert tables. */
  readonly tables: readonly TorchTable[];
  /** Lines of `forward(self, x, ctx)` (indented 8 spaces by the caller); `x` in, returns the output. */
  readonly body: readonly string[];
  /** True when forward takes the embedding matrix (tied lm_head). */
  readonly needsEmbedding?: boolean;
}

/** Model-wide facts a layer's init needs. */
export interface TorchLayerContext {
  /** 0.02 / √(2·blocks): std of projections into the residual stream. */
  readonly outputStd: number;
}

const INIT_STD = 0.02;
const normal = (std = INIT_STD): TorchInit => ({ kind: "normal", std });
const zeros: TorchInit = { kind: "zeros" };
const ones: TorchInit = { kind: "ones" };

/** The Python attribute of a part: dots become underscores ("query.bn.gamma" → query_bn_gamma). */
export function partAttribute(part: string): string {
  return part.replace(/\./g, "_");
}

const p = (part: string): string => `self.${partAttribute(part)}`;

function ffwParts(prefix: string, l: { dModel: number; hidden: number; glu: boolean; bias: boolean }, outputStd: number): TorchPart[] {
  const parts: TorchPart[] = [{ part: `${prefix}w_in`, shape: [l.dModel, l.hidden], init: normal(), noDecay: false }];
  if (l.glu) parts.push({ part: `${prefix}w_gate`, shape: [l.dModel, l.hidden], init: normal(), noDecay: false });
  parts.push({ part: `${prefix}w_out`, shape: [l.hidden, l.dModel], init: normal(outputStd), noDecay: false });
  if (l.bias) {
    parts.push({ part: `${prefix}b_in`, shape: [l.hidden], init: zeros, noDecay: true });
    if (l.glu) parts.push({ part: `${prefix}b_gate`, shape: [l.hidden], init: zeros, noDecay: true });
    parts.push({ part: `${prefix}b_out`, shape: [l.dModel], init: zeros, noDecay: true });
  }
  return parts;
}

function ffwCall(prefix: string, l: { glu: boolean; bias: boolean; act: string }): string {
  const opt = (name: string, on: boolean) => (on ? p(prefix + name) : "None");
  return `rt.ffw(x, ${p(prefix + "w_in")}, ${p(prefix + "w_out")}, ${pyString(l.act)}, ${opt("w_gate", l.glu)}, ${opt("b_in", l.bias)}, ${opt("b_gate", l.glu && l.bias)}, ${opt("b_out", l.bias)})`;
}

interface ProductKeyShape {
  readonly dModel: number;
  readonly heads: number;
  readonly topk: number;
  readonly subTopk: number;
  readonly keyDim: number;
  readonly subKeys: number;
  readonly queryNorm: "batch" | "layer" | "none";
  readonly keys: "shared" | "per_head";
  readonly queryBias: boolean;
  readonly scores: "softmax" | "sigmoid";
}

function queryParts(l: ProductKeyShape): { parts: TorchPart[]; buffers: TorchPart[] } {
  const width = l.heads * l.keyDim;
  const half = l.keyDim / 2;
  const parts: TorchPart[] = [{ part: "query.w", shape: [l.dModel, width], init: { kind: "uniform", bound: 1 / Math.sqrt(l.dModel) }, noDecay: false }];
  if (l.queryBias) parts.push({ part: "query.b", shape: [width], init: zeros, noDecay: true });
  const buffers: TorchPart[] = [];
  if (l.queryNorm !== "none") {
    const n = l.queryNorm === "batch" ? "bn" : "ln";
    parts.push({ part: `query.${n}.gamma`, shape: [width], init: ones, noDecay: true });
    parts.push({ part: `query.${n}.beta`, shape: [width], init: zeros, noDecay: true });
  }
  if (l.queryNorm === "batch") {
    buffers.push({ part: "query.bn.running_mean", shape: [width], init: zeros, noDecay: true });
    buffers.push({ part: "query.bn.running_var", shape: [width], init: ones, noDecay: true });
  }
  const sets = l.keys === "shared" ? [""] : Array.from({ length: l.heads }, (_, h) => `${h}.`);
  for (const set of sets) {
    for (const half12 of [1, 2]) parts.push({ part: `keys.${set}${half12}`, shape: [half, l.subKeys], init: { kind: "uniform", bound: 1 / Math.sqrt(half) }, noDecay: false });
  }
  return { parts, buffers };
}

/** Lines computing `ids, gates` from x: query, norm, product-key top-k with its constants. */
function routeLines(l: ProductKeyShape, path: string, numExperts: number): string[] {
  const lines = [
    `# retrieval: h = ${l.heads} heads, k = ${l.topk}, sub-top-k k' = ${l.subTopk}, √N = ${l.subKeys} sub-keys per half, key_dim ${l.keyDim}`,
    `q = ${l.queryBias ? `rt.linear(x, ${p("query.w")}, ${p("query.b")})` : `x @ ${p("query.w")}`}`,
  ];
  if (l.queryNorm === "batch") {
    lines.push(`q = rt.query_batch_norm(q, ${p("query.bn.gamma")}, ${p("query.bn.beta")}, ${p("query.bn.running_mean")}, ${p("query.bn.running_var")}, ctx.training)`);
  } else if (l.queryNorm === "layer") {
    lines.push(`q = rt.query_layer_norm(q, ${p("query.ln.gamma")}, ${p("query.ln.beta")}, ${l.heads}, ${l.keyDim})`);
  }
  const keys = l.keys === "shared" ? `[(${p("keys.1")}, ${p("keys.2")})]` : `[${Array.from({ length: l.heads }, (_, h) => `(${p(`keys.${h}.1`)}, ${p(`keys.${h}.2`)})`).join(", ")}]`;
  lines.push(`ids, gates = rt.route(q, ${keys}, ${l.heads}, ${l.keyDim}, ${l.subKeys}, ${l.subTopk}, ${l.topk}, ${pyString(l.scores)}, ctx, ${pyString(path)}, ${numExperts})`);
  return lines;
}

export function torchLayer(layer: LayerArchitecture, ctx: TorchLayerContext): TorchLayer {
  switch (layer.kind) {
    case "embed":
      return { parts: [{ part: "weight", shape: [layer.vocab, layer.dim], init: normal(), noDecay: true }], buffers: [], tables: [], body: [`return ${p("weight")}[x.reshape(-1)]`] };
    case "positions":
      return {
        parts: [{ part: "weight", shape: [layer.context, layer.dim], init: normal(), noDecay: true }],
        buffers: [],
        tables: [],
        body: [`return x + ${p("weight")}[:ctx.seq_len].repeat(ctx.batch, 1)`],
      };
    case "norm": {
      const parts: TorchPart[] = [{ part: "gain", shape: [layer.dim], init: ones, noDecay: true }];
      if (layer.type === "layer") parts.push({ part: "bias", shape: [layer.dim], init: zeros, noDecay: true });
      const body = layer.type === "rms" ? `return rt.rms_norm(x, ${p("gain")}, ${pyFloat(layer.eps)})` : `return rt.layer_norm(x, ${p("gain")}, ${p("bias")}, ${pyFloat(layer.eps)})`;
      return { parts, buffers: [], tables: [], body: [body] };
    }
    case "attention": {
      const { dModel: d, heads: H, kvHeads: KV, headDim: hd } = layer;
      const parts: TorchPart[] = [
        { part: "wq", shape: [d, H * hd], init: normal(), noDecay: false },
        { part: "wk", shape: [d, KV * hd], init: normal(), noDecay: false },
        { part: "wv", shape: [d, KV * hd], init: normal(), noDecay: false },
        { part: "wo", shape: [H * hd, d], init: normal(ctx.outputStd), noDecay: false },
      ];
      if (layer.bias) {
        parts.push({ part: "bq", shape: [H * hd], init: zeros, noDecay: true }, { part: "bk", shape: [KV * hd], init: zeros, noDecay: true });
        parts.push({ part: "bv", shape: [KV * hd], init: zeros, noDecay: true }, { part: "bo", shape: [d], init: zeros, noDecay: true });
      }
      const b = (name: string) => (layer.bias ? p(name) : "None");
      return {
        parts,
        buffers: [],
        tables: [],
        body: [
          `q = rt.linear(x, ${p("wq")}, ${b("bq")})`,
          `k = rt.linear(x, ${p("wk")}, ${b("bk")})`,
          `v = rt.linear(x, ${p("wv")}, ${b("bv")})`,
          `out = rt.attend(q, k, v, ctx.batch, ctx.seq_len, ${H}, ${KV}, ${hd}, ${layer.causal ? "True" : "False"}, ${layer.rope ? pyFloat(layer.rope.base) : "None"})`,
          `return rt.linear(out, ${p("wo")}, ${b("bo")})`,
        ],
      };
    }
    case "ffw":
      return { parts: ffwParts("", layer, ctx.outputStd), buffers: [], tables: [], body: [`return ${ffwCall("", layer)}`] };
    case "moe": {
      const parts: TorchPart[] = [{ part: "router", shape: [layer.dModel, layer.experts], init: normal(), noDecay: false }];
      for (let e = 0; e < layer.experts; e++) parts.push(...ffwParts(`experts.${e}.`, layer, ctx.outputStd));
      const names = ["w_in", "w_out", ...(layer.glu ? ["w_gate"] : []), ...(layer.bias ? ["b_in", "b_out", ...(layer.glu ? ["b_gate"] : [])] : [])];
      return {
        parts,
        buffers: [],
        tables: [],
        body: [
          `experts = [{${names.map((n) => `${pyString(n)}: getattr(self, "experts_%d_${n}" % e)`).join(", ")}} for e in range(${layer.experts})]`,
          `return rt.moe(x, ${p("router")}, experts, ${pyString(layer.act)}, ${pyString(layer.routing)}, ${layer.topk}, ${pyFloat(layer.capacity)}, ${pyFloat(layer.auxLoss)}, ctx, ${pyString(layer.path)})`,
        ],
      };
    }
    case "peer": {
      const { parts, buffers } = queryParts(layer);
      return {
        parts,
        buffers,
        tables: [
          { part: "experts.u", rows: layer.experts, cols: layer.dModel, std: 1 / Math.sqrt(layer.dModel) },
          { part: "experts.v", rows: layer.experts, cols: layer.dModel, std: 1 / Math.sqrt(layer.heads * layer.topk) },
          ...(layer.glu ? [{ part: "experts.g", rows: layer.experts, cols: layer.dModel, std: 1 / Math.sqrt(layer.dModel) }] : []),
        ],
        body: [
          ...routeLines(layer, layer.path, layer.experts),
          `return rt.peer_experts(x, gates, ids, ${p("experts.u")}, ${p("experts.v")}, ${pyString(layer.act)}, ctx.training${layer.glu ? `, ${p("experts.g")}` : ""})`,
        ],
      };
    }
    case "pkm": {
      const { parts, buffers } = queryParts(layer);
      return {
        parts,
        buffers,
        tables: [{ part: "values", rows: layer.memories, cols: layer.valueDim, std: 1 / Math.sqrt(layer.valueDim) }],
        body: [...routeLines(layer, layer.path, layer.memories), `return rt.pkm_values(gates, ids, ${p("values")}, ctx.training)`],
      };
    }
    case "lm_head": {
      const parts: TorchPart[] = [];
      if (!layer.tied) parts.push({ part: "weight", shape: [layer.dModel, layer.vocab], init: normal(), noDecay: false });
      if (layer.bias) parts.push({ part: "bias", shape: [layer.vocab], init: zeros, noDecay: true });
      const matmul = layer.tied ? "x @ embedding.t()" : `x @ ${p("weight")}`;
      return { parts, buffers: [], tables: [], body: [`return ${matmul}${layer.bias ? ` + ${p("bias")}` : ""}`], needsEmbedding: layer.tied };
    }
  }
}

/** Python expression creating a zero tensor of `shape`. */
export function zerosExpr(part: TorchPart): string {
  return `torch.zeros(${part.shape.map(pyNumber).join(", ")}${part.shape.length === 1 ? "," : ""})`;
}

/** The init record of a part as a Python tuple. */
export function initExpr(init: TorchInit): string {
  switch (init.kind) {
    case "normal":
      return `("normal", ${pyFloat(init.std)})`;
    case "uniform":
      return `("uniform", ${pyFloat(init.bound)})`;
    case "zeros":
      return `("zeros", 0.0)`;
    case "ones":
      return `("ones", 0.0)`;
  }
}
