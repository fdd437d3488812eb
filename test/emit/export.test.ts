/**
 * `--export DIR` read back by a reader written here (no peerc code): the
 * safetensors header parsed by hand and Float32Array views, architecture.json
 * walked by a plain-JS forward written from docs/weights.md. The logits it
 * computes must be the trained model's. For PEER the product-key search is
 * replaced by brute force over all N keys (the same top-k by construction),
 * and every tensor name and shape is checked against the docs' table.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { IRModel } from "../../ir/types.js";
import type { LanguageModel } from "../../runtime/model/model.js";
import { buildModel } from "../../runtime/model/model.js";
import { trainMain } from "../../runtime/train/main.js";
import { checkedModels, tempDir } from "./helpers.js";

const dir = tempDir("peerc-export-");
process.env.XDG_CACHE_HOME = path.join(dir, "cache");
const corpus = path.join(dir, "corpus.txt");
fs.writeFileSync(corpus, "sphinx of black quartz, judge my vow. ".repeat(100));

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const DENSE = `
model export_dense {
  vocab 256
  context 8
  embed tokens(dim: 16)
  residual { norm rms; ffw(hidden: 32, act: relu) }
  norm rms
  lm_head untied
}`;

const PEER = `
model export_peer {
  vocab 256
  context 8
  embed tokens(dim: 16)
  residual { norm rms; peer(experts: 8^2, heads: 2, topk: 3, key_dim: 8, act: relu, query_norm: batch) }
  norm rms
  lm_head tied
}`;

// ---- an independent reader ------------------------------------------------

interface Tensor {
  readonly shape: number[];
  readonly data: Float32Array;
}

function readSafetensors(file: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const bytes = fs.readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8")) as Record<string, unknown>;
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: [begin, end] } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    expect(dtype, name).toBe("F32");
    expect(end - begin, name).toBe(4 * shape.reduce((a, b) => a * b, 1));
    const copy = bytes.buffer.slice(bytes.byteOffset + dataStart + begin, bytes.byteOffset + dataStart + end);
    tensors.set(name, { shape, data: new Float32Array(copy) });
  }
  return { tensors, metadata };
}

// ---- a forward written from docs/weights.md -------------------------------

type Row = Float64Array;
interface ArchLayer {
  path: string;
  kind: string;
  [key: string]: unknown;
}
interface Arch {
  name: string;
  hash: string;
  layers: ArchLayer[];
  residuals: { start: number; end: number }[];
}

function matVec(x: Row, w: Float32Array, rows: number, cols: number): Row {
  const out = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c]! += x[r]! * w[r * cols + c]!;
  return out;
}

function rmsNorm(x: Row, gain: Float32Array, eps: number): Row {
  const ms = x.reduce((s, v) => s + v * v, 0) / x.length;
  return x.map((v, i) => (v / Math.sqrt(ms + eps)) * gain[i]!);
}

const relu = (v: number) => Math.max(0, v);

/** PEER per docs/weights.md, with the exact top-k taken by brute force over all N = √N² keys. */
function peer(x: Row, layer: ArchLayer, t: (name: string) => Float32Array): Row {
  const P = layer.path;
  const d = layer.d_model as number;
  const heads = layer.heads as number;
  const dk = layer.key_dim as number;
  const k = layer.topk as number;
  const sq = layer.sub_keys as number;
  const half = dk / 2;
  let q = matVec(x, t(`${P}.query.w`), d, heads * dk);
  if (layer.query_bias) q = q.map((v, i) => v + t(`${P}.query.b`)[i]!);
  const mean = t(`${P}.query.bn.running_mean`);
  const variance = t(`${P}.query.bn.running_var`);
  q = q.map((v, i) => ((v - mean[i]!) / Math.sqrt(variance[i]! + 1e-5)) * t(`${P}.query.bn.gamma`)[i]! + t(`${P}.query.bn.beta`)[i]!);
  const k1 = t(`${P}.keys.1`);
  const k2 = t(`${P}.keys.2`);
  const u = t(`${P}.experts.u`);
  const v = t(`${P}.experts.v`);
  const out = new Float64Array(d);
  for (let h = 0; h < heads; h++) {
    const all: { id: number; s: number }[] = [];
    for (let i = 0; i < sq; i++) {
      for (let j = 0; j < sq; j++) {
        let s = 0;
        for (let e = 0; e < half; e++) s += q[h * dk + e]! * k1[e * sq + i]! + q[h * dk + half + e]! * k2[e * sq + j]!;
        all.push({ id: i * sq + j, s });
      }
    }
    const top = all.sort((a, b) => b.s - a.s).slice(0, k);
    const z = top.reduce((acc, c) => acc + Math.exp(c.s - top[0]!.s), 0);
    for (const c of top) {
      const g = Math.exp(c.s - top[0]!.s) / z;
      let a = 0;
      for (let e = 0; e < d; e++) a += u[c.id * d + e]! * x[e]!;
      const w = g * relu(a);
      for (let e = 0; e < d; e++) out[e]! += w * v[c.id * d + e]!;
    }
  }
  return out;
}

function applyLayer(x: Row, token: number, layer: ArchLayer, arch: Arch, t: (name: string) => Float32Array): Row {
  const P = layer.path;
  switch (layer.kind) {
    case "embed": {
      const dim = layer.dim as number;
      return Float64Array.from(t(`${P}.weight`).subarray(token * dim, (token + 1) * dim));
    }
    case "norm":
      expect(layer.type).toBe("rms");
      return rmsNorm(x, t(`${P}.gain`), layer.eps as number);
    case "ffw": {
      expect(layer.act).toBe("relu");
      const d = layer.d_model as number;
      const hidden = layer.hidden as number;
      return matVec(matVec(x, t(`${P}.w_in`), d, hidden).map(relu), t(`${P}.w_out`), hidden, d);
    }
    case "peer":
      return peer(x, layer, t);
    case "lm_head": {
      const d = layer.d_model as number;
      const vocab = layer.vocab as number;
      if (!layer.tied) return matVec(x, t(`${P}.weight`), d, vocab);
      const embed = arch.layers.find((l) => l.kind === "embed")!;
      const table = t(`${embed.path}.weight`);
      return Float64Array.from({ length: vocab }, (_, r) => x.reduce((s, xv, e) => s + xv * table[r * d + e]!, 0));
    }
    default:
      throw new Error(`the hand-written forward has no ${layer.kind}`);
  }
}

/** Logits of one token (no attention in these models, so tokens are independent). */
function handLogits(arch: Arch, t: (name: string) => Float32Array, token: number): Row {
  let x: Row = new Float64Array(0);
  for (let i = 0; i < arch.layers.length; ) {
    const residual = arch.residuals.find((r) => r.start === i);
    if (residual) {
      let h: Row = x;
      for (let j = residual.start; j < residual.end; j++) h = applyLayer(h, token, arch.layers[j]!, arch, t);
      x = x.map((v, e) => v + h[e]!);
      i = residual.end;
    } else {
      x = applyLayer(x, token, arch.layers[i]!, arch, t);
      i++;
    }
  }
  return x;
}

// ---- the runs ---------------------------------------------------------------

async function trainAndExport(ir: IRModel, out: string): Promise<LanguageModel> {
  let model: LanguageModel | null = null;
  const lines: string[] = [];
  const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
  const args = ["--data", corpus, "--backend", "wasm", "--out", path.join(out, "run"), "--steps", "3", "--batch", "4", "--export", path.join(out, "export")];
  const code = await trainMain(args, { ir, build: (o) => (model = buildModel(ir, o)) }, io);
  expect(code, lines.join("\n")).toBe(0);
  expect(lines.join("\n")).toMatch(/exported \d+ tensors/);
  return model!;
}

function compareLogits(model: LanguageModel, arch: Arch, t: (name: string) => Float32Array): void {
  const tokens = [0, 32, 97, 101, 115, 255, 10, 46];
  const input = tf.tensor2d(tokens, [1, tokens.length], "int32");
  const live = tf.tidy(() => model.forward(input, "eval").logits.arraySync() as number[][]);
  input.dispose();
  let maxDiff = 0;
  tokens.forEach((token, r) => {
    const hand = handLogits(arch, t, token);
    expect(hand.length).toBe(live[r]!.length);
    hand.forEach((v, c) => (maxDiff = Math.max(maxDiff, Math.abs(v - live[r]![c]!))));
  });
  expect(maxDiff).toBeLessThan(1e-4);
  // Not trivially equal: the logits vary across the vocabulary.
  expect(Math.max(...live[0]!) - Math.min(...live[0]!)).toBeGreaterThan(1e-3);
}

function openExport(out: string): { arch: Arch; tensors: Map<string, Tensor>; metadata: Record<string, string>; t: (name: string) => Float32Array } {
  const archText = fs.readFileSync(path.join(out, "export", "architecture.json"), "utf8");
  // Source locations stay out of the export.
  expect(archText).not.toMatch(/"(span|arg_spans|argSpans|file)"/);
  // Keys are snake_case, like report.json's (docs/weights.md).
  expect(archText).not.toMatch(/"[a-z0-9]+[A-Z]\w*":/);
  expect(archText).toMatch(/"d_model":/);
  const arch = JSON.parse(archText) as Arch;
  const { tensors, metadata } = readSafetensors(path.join(out, "export", "weights.safetensors"));
  const t = (name: string): Float32Array => {
    const tensor = tensors.get(name);
    if (!tensor) throw new Error(`export has no tensor ${name}`);
    return tensor.data;
  };
  return { arch, tensors, metadata, t };
}

describe("--export", () => {
  it("a dense model: a hand-written forward over the exported files reproduces the logits", async () => {
    const ir = checkedModels(DENSE, "export_dense.peer")[0]!;
    const out = path.join(dir, "dense");
    const model = await trainAndExport(ir, out);
    const { arch, tensors, metadata, t } = openExport(out);
    expect(metadata).toEqual({ model: ir.name, specHash: ir.hash });
    expect(arch.layers.map((l) => l.kind)).toEqual(["embed", "norm", "ffw", "norm", "lm_head"]);
    // Exactly the model's variables, no optimizer state.
    expect([...tensors.keys()].sort()).toEqual(model.variables.map((v) => v.name).sort());
    compareLogits(model, arch, t);
    model.dispose();
  });

  it("a PEER model: names and shapes as docs/weights.md lists them, tables as live, and the same logits", async () => {
    const ir = checkedModels(PEER, "export_peer.peer")[0]!;
    const out = path.join(dir, "peer");
    const model = await trainAndExport(ir, out);
    const { arch, tensors, t } = openExport(out);
    const P = arch.layers.find((l) => l.kind === "peer")!;
    const [d, h, dk, n, sq] = [P.d_model, P.heads, P.key_dim, P.experts, P.sub_keys] as number[];
    const norms = arch.layers.filter((l) => l.kind === "norm").map((l) => [`${l.path}.gain`, [d]] as const);
    // docs/weights.md, rows "embed", "norm rms" and "peer" (shared keys, query norm batch, query bias), lm_head tied: none.
    const expected = new Map<string, readonly number[]>([
      [`${arch.layers[0]!.path}.weight`, [256, d!]],
      ...norms,
      [`${P.path}.query.w`, [d!, h! * dk!]],
      [`${P.path}.query.b`, [h! * dk!]],
      [`${P.path}.query.bn.gamma`, [h! * dk!]],
      [`${P.path}.query.bn.beta`, [h! * dk!]],
      [`${P.path}.query.bn.running_mean`, [h! * dk!]],
      [`${P.path}.query.bn.running_var`, [h! * dk!]],
      [`${P.path}.keys.1`, [dk! / 2, sq!]],
      [`${P.path}.keys.2`, [dk! / 2, sq!]],
      [`${P.path}.experts.u`, [n!, d!]],
      [`${P.path}.experts.v`, [n!, d!]],
    ]);
    expect(new Map([...tensors].map(([name, x]) => [name, x.shape]))).toEqual(expected);
    // Table values are the live tables' (trained: the exported u differs from a fresh model's).
    for (const table of model.sparseTables) {
      const live = table.state().find((s) => s.name === table.name)!.data;
      expect(Buffer.from(t(table.name).buffer).equals(Buffer.from(live.buffer, live.byteOffset, live.byteLength))).toBe(true);
    }
    const fresh = buildModel(ir, { seed: ir.train?.seed ?? 0, backend: "wasm" });
    const freshU = fresh.sparseTables.find((s) => s.name === `${P.path}.experts.u`)!.state()[0]!.data;
    expect(t(`${P.path}.experts.u`).some((x, i) => x !== freshU[i])).toBe(true);
    fresh.dispose();
    // Dense values and buffers are the live ones.
    for (const v of model.variables) expect(Array.from(t(v.name))).toEqual(Array.from(v.variable.dataSync()));
    for (const b of model.buffers()) expect(Array.from(t(b.name))).toEqual(Array.from(b.tensor.dataSync()));
    compareLogits(model, arch, t);
    model.dispose();
  });
});
