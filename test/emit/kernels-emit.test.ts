/**
 * kernels.ts: `peerc compile` emits the WGSL kernels of every PEER/PKM layer,
 * byte-equal to what the runtime generates for the layer's shape
 * (kinds/peer/wgsl.ts layerKernels), readable, deterministic, escaped; a dense
 * model gets none. And the runtime's registry (kinds/peer/device-registry.ts)
 * refuses emitted kernels that do not fit the model's layers.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { emitTrainer, formatProblems, typecheckEmitted } from "../../compiler/emit/index.js";
import { emitContext } from "../../compiler/emit/context.js";
import { emitKernelsFile } from "../../compiler/emit/kernels-file.js";
import { formatTypeScript } from "../../compiler/emit/format.js";
import { transpile } from "../../compiler/emit/typecheck.js";
import { GENERATED_MARK } from "../../compiler/emit/header.js";
import { tsTemplate } from "../../compiler/emit/strings.js";
import { costModel } from "../../compiler/cost/index.js";
import type { IRModel, PeerLayer } from "../../ir/types.js";
import { layerKernels, layerKernelSpec, type WgslKernel } from "../../kinds/peer/wgsl.js";
import { clearEmittedKernels, EmittedKernelError, kernelInUse, registerEmittedKernels, type EmittedLayerKernels } from "../../kinds/peer/device-registry.js";
import { checkedModels, tempDir } from "./helpers.js";

const SPEC = `
model mixed {
  vocab 64
  context 16
  embed tokens(dim: 32)
  positions rope
  repeat 2 as i {
    residual { norm rms; peer(experts: 8^2, heads: 2, topk: 3, key_dim: 8, act: gelu, query_norm: none) }
  }
  residual { norm rms; peer(experts: 16^2, heads: 2, topk: 4, key_dim: 16, act: silu, glu: true, query_norm: batch) }
  residual { norm rms; pkm(memories: 16^2, heads: 2, topk: 4, key_dim: 16, query_norm: none) }
  norm rms
  lm_head tied
}

model dense_only {
  vocab 64
  context 16
  embed tokens(dim: 32)
  positions rope
  residual { norm rms; attention(heads: 2, head_dim: 16, causal) }
  residual { norm rms; ffw(hidden: 64, act: gelu) }
  norm rms
  lm_head tied
}
`;

const [MIXED, DENSE] = checkedModels(SPEC) as [IRModel, IRModel];
const outRoot = tempDir("peerc-kernels-");

function trainerFiles(model: IRModel, folder = model.name): Map<string, string> {
  return emitTrainer(emitContext(model, costModel(model), { specFile: path.join(outRoot, "spec.peer"), outDir: path.join(outRoot, folder) }));
}

/** Writes kernels.js (no runtime imports: its only import is a type) and loads it. */
async function loadKernels(files: ReadonlyMap<string, string>, folder: string): Promise<readonly EmittedLayerKernels[]> {
  const dir = path.join(outRoot, folder);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "package.json"), '{ "type": "module" }\n');
  fs.writeFileSync(path.join(dir, "kernels.js"), files.get("kernels.js")!);
  return ((await import(pathToFileURL(path.join(dir, "kernels.js")).href)) as { LAYER_KERNELS: readonly EmittedLayerKernels[] }).LAYER_KERNELS;
}

const productKeyLayers = (model: IRModel) => model.layers.filter((l) => l.kind === "peer" || l.kind === "pkm") as (PeerLayer | import("../../ir/types.js").PkmLayer)[];

describe("kernels.ts", () => {
  it("holds, per PEER/PKM layer, exactly the kernels the runtime generates for its shape, byte for byte", async () => {
    const files = trainerFiles(MIXED);
    const emitted = await loadKernels(files, "mixed");
    const layers = productKeyLayers(MIXED);
    expect(emitted.map((e) => e.path)).toEqual(layers.map((l) => l.path));
    expect(layers.map((l) => l.kind)).toEqual(["peer", "peer", "peer", "pkm"]);
    layers.forEach((layer, i) => {
      const generated = layerKernels(layerKernelSpec(layer));
      expect(emitted[i]!.kernels.map((k) => ({ ...k, inputs: [...k.inputs] }))).toEqual(generated.map((k) => ({ ...k, inputs: [...k.inputs] })));
    });
    // PKM runs only the top-k kernel; the GLU layer's gate reads the gate table W.
    expect(emitted[3]!.kernels.map((k) => k.key)).toEqual(["peerc_topk_s16_k4_t4"]);
    expect(emitted[2]!.kernels[1]!.inputs).toEqual(["X", "G", "IDS", "U", "W"]);
    expect(emitted[2]!.kernels[1]!.source).toContain("sigma(dotW) * dotU");
  });

  it("is readable: a header, one constant per distinct kernel, a comment with what it computes and which layers use it", () => {
    const text = trainerFiles(MIXED).get("kernels.ts")!;
    expect(text.split("\n")[0]).toBe(`// ${GENERATED_MARK}.`);
    // The two equal gelu layers share their four kernels: one constant each, used twice.
    expect(text.match(/^const peerc_gate_gelu_s6_d32: WgslKernel = \{$/gm)).toHaveLength(1);
    expect(text).toContain(' *  Layers: "blocks.0.peer", "blocks.1.peer". */');
    expect(text).toContain("/** Expert gate z = gate · silu(g_id·x) · (u_id·x) per token and slot; 8 slots (2 heads × top-4), d\n *  32.");
    // Comments wrap at 100 columns.
    expect(Math.max(...text.split("\n").filter((l) => /^\/\*\*| \*  /.test(l)).map((l) => l.length))).toBeLessThanOrEqual(100);
    expect(text).toContain('// "blocks.1.peer": PEER, gelu: √N 8, sub-top-k');
    expect(text).toMatch(/kernels: \[\n\s+peerc_topk_s8_k\d+_t3,\n\s+peerc_gate_gelu_s6_d32,\n/);
    expect(text).toContain('{ path: "pkm", kernels: [peerc_topk_s16_k4_t4] },');
    // Sources are template strings laid out as the WGSL they are, constants first.
    expect(text).toMatch(/source: `\nconst SLOTS: i32 = 6;\nconst D: i32 = 32;\n/);
    expect(text.match(/^const peerc_\w+: WgslKernel/gm)!.length).toBe(new Set(productKeyLayers(MIXED).flatMap((l) => layerKernels(layerKernelSpec(l)).map((k) => k.key))).size);
  });

  it("is deterministic and wired into model.ts (registered before the model is built)", () => {
    const a = trainerFiles(MIXED);
    trainerFiles(DENSE);
    const b = trainerFiles(MIXED);
    expect(b.get("kernels.ts")).toBe(a.get("kernels.ts"));
    expect(b.get("kernels.js")).toBe(a.get("kernels.js"));
    const model = a.get("model.ts")!;
    expect(model).toContain('import { LAYER_KERNELS } from "./kernels.js";');
    expect(model).toMatch(/registerEmittedKernels\(ARCHITECTURE, LAYER_KERNELS\);\n\s*return emittedModel<Weights>/);
    expect(a.get("model.js")).toContain('from "./kernels.js"');
    expect(a.get("README.md")).toContain("`kernels.ts` / `kernels.js`");
  });

  it("type-checks under tsc --strict with the rest of the trainer", () => {
    expect(formatProblems(typecheckEmitted(path.join(outRoot, "mixed"), trainerFiles(MIXED)))).toBe("");
  }, 60_000);

  it("is not written for a model without PEER/PKM layers", () => {
    const files = trainerFiles(DENSE);
    expect([...files.keys()]).toEqual(["model.ts", "train.ts", "model.js", "train.js", "report.json", "README.md"]);
    expect(files.get("model.ts")).not.toMatch(/kernels|registerEmittedKernels|LAYER_KERNELS/);
  });

  it("escapes layer paths: quotes, newlines, */, ${ and backticks come back exactly and inject nothing", async () => {
    const hostile = 'blocks.0"\n*/ ${globalThis.pwned=3} `x` \u2028 //';
    const model: IRModel = { ...MIXED, layers: MIXED.layers.map((l) => (l.path === "blocks.0.peer" ? { ...l, path: hostile } : l)) };
    const ctx = emitContext(model, costModel(model), { specFile: path.join(outRoot, "spec.peer"), outDir: path.join(outRoot, "hostile") });
    const ts = formatTypeScript(emitKernelsFile(ctx)!);
    // Wherever the path appears (string literals, comments) its newline stays escaped: it starts no line.
    const uses = ts.split("\n").filter((line) => line.includes("pwned=3"));
    expect(uses.length).toBeGreaterThanOrEqual(6);
    for (const line of uses) expect(line).toContain('blocks.0\\"\\n*');
    expect(ts).not.toContain("\u2028");
    for (const line of ts.split("\n")) if (line.trimStart().startsWith("//")) expect(line).not.toMatch(/\*\/.*\$\{globalThis/);
    expect(formatProblems(typecheckEmitted(path.join(outRoot, "hostile"), new Map([["kernels.ts", ts]])))).toBe("");
    delete (globalThis as { pwned?: number }).pwned;
    const emitted = await loadKernels(new Map([["kernels.js", transpile("kernels.ts", ts)]]), "hostile");
    expect((globalThis as { pwned?: number }).pwned).toBeUndefined();
    expect(emitted[0]!.path).toBe(hostile);
    expect(emitted[1]!.path).toBe("blocks.1.peer");
  }, 60_000);

  it("template strings round-trip backslashes, backticks, ${ and carriage returns", () => {
    const text = "a\\b `c` ${d} $e {f}\r\nline";
    expect(new Function(`return ${tsTemplate(text)};`)()).toBe(text);
  });
});

describe("the runtime's registry of emitted kernels", () => {
  afterEach(() => clearEmittedKernels());
  const emittedFor = (model: IRModel): EmittedLayerKernels[] => productKeyLayers(model).map((l) => ({ path: l.path, kernels: layerKernels(layerKernelSpec(l)) }));
  /** `layers` with kernel k of layer `at` edited, in every layer that shares it. */
  const withKernel = (layers: EmittedLayerKernels[], at: number, k: number, edit: (kernel: WgslKernel) => WgslKernel) => {
    const key = layers[at]!.kernels[k]!.key;
    return layers.map((l) => ({ ...l, kernels: l.kernels.map((kernel) => (kernel.key === key ? edit(kernel) : kernel)) }));
  };

  it("accepts the kernels of the model's own layers; the device then runs the emitted source for each key", () => {
    const emitted = emittedFor(MIXED);
    // Same constants, another body: registered, and run under its own shader key.
    const doubled = withKernel(emitted, 0, 2, (k) => ({ ...k, source: k.source.replace("setOutputAtIndex(index, acc);", "setOutputAtIndex(index, 2.0 * acc);") }));
    registerEmittedKernels(MIXED, doubled);
    const mix = emitted[0]!.kernels[2]!;
    const used = kernelInUse(mix);
    expect(used.key).toBe(`${mix.key}_emitted`);
    expect(used.source).toContain("2.0 * acc");
    // Emitted text equal to the generated: the generated kernel itself (one pipeline).
    expect(kernelInUse(emitted[0]!.kernels[0]!)).toBe(emitted[0]!.kernels[0]);
    // A kernel nobody registered (a shard's row range): generated, as without a trainer.
    const sharded = layerKernels(layerKernelSpec(productKeyLayers(MIXED)[0]!), [{ offset: 0, rows: 40 }, { offset: 40, rows: 24 }]);
    expect(kernelInUse(sharded[2]!)).toBe(sharded[2]);
  });

  it("refuses kernels for another shape, naming the layer and both key lists", () => {
    const emitted = emittedFor(MIXED);
    const other: IRModel = { ...MIXED, layers: MIXED.layers.map((l) => (l.path === "blocks.1.peer" && l.kind === "peer" ? { ...l, topk: 2 } : l)) };
    expect(() => registerEmittedKernels(other, emitted)).toThrow(EmittedKernelError);
    expect(() => registerEmittedKernels(other, emitted)).toThrow(/layer "blocks\.1\.peer": the emitted kernels \(peerc_topk_s8_k\d+_t3, peerc_gate_gelu_s6_d32.*\) are for another shape than the layer's \(peerc_topk_s8_k\d+_t2, peerc_gate_gelu_s4_d32.*regenerate the trainer with peerc compile/);
  });

  it("refuses a source whose constants differ from its key, other inputs, missing or unknown layers, and a second source for a key", () => {
    const emitted = emittedFor(MIXED);
    const wrongD = withKernel(emitted, 2, 1, (k) => ({ ...k, source: k.source.replace("const D: i32 = 32;", "const D: i32 = 33;") }));
    expect(() => registerEmittedKernels(MIXED, wrongD)).toThrow(/kernel peerc_gate_silu_glu_s8_d32 declares the constants .*D: i32 = 33.*its key stands for .*D: i32 = 32/);
    const wrongInputs = withKernel(emitted, 2, 1, (k) => ({ ...k, inputs: ["X", "G", "IDS", "U"] }));
    expect(() => registerEmittedKernels(MIXED, wrongInputs)).toThrow(/binds inputs \(X, G, IDS, U\), the runtime passes \(X, G, IDS, U, W\)/);
    expect(() => registerEmittedKernels(MIXED, emitted.slice(1))).toThrow(/has no kernels for layer "blocks\.0\.peer"/);
    expect(() => registerEmittedKernels(MIXED, [...emitted, { path: "blocks.9.peer", kernels: [] }])).toThrow(/"blocks\.9\.peer", which is not a PEER or PKM layer/);
    expect(() => registerEmittedKernels(DENSE, [])).not.toThrow();
    const edited = withKernel(emitted, 0, 3, (k) => ({ ...k, source: `// edited\n${k.source}` }));
    const halfEdited = [edited[0]!, ...emitted.slice(1)];
    expect(() => registerEmittedKernels(MIXED, halfEdited)).toThrow(/peerc_dots_s6_d32 comes with two different sources \(layer "blocks\.1\.peer"/);
    registerEmittedKernels(MIXED, emitted);
    expect(() => registerEmittedKernels(MIXED, edited)).toThrow(/peerc_dots_s6_d32 is already registered with another source/);
  });
});
