/** The torch target's emitted files: every spec, deterministic bytes, escaped spec strings, valid Python. */
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { GENERATED_MARK } from "../../compiler/emit/header.js";
import { writeOutputs } from "../../compiler/emit/write.js";
import { emitTorchModelTrainer, TORCH_FILES } from "../../targets/torch/index.js";
import { pyString, pyValue } from "../../targets/torch/python.js";
import { findTorchPython } from "../../targets/torch/python-env.js";
import { planTorchGenerated } from "../../targets/torch/regen.js";
import { checkedModels, repoModel, ROOT, tempDir } from "../emit/helpers.js";

const { found, tried } = findTorchPython();
const NO_PYTHON = found === null ? ` (skipped: no python3 with torch: ${tried.join("; ")})` : "";
const dir = tempDir("peerc-torch-emit-");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("peerc compile --target torch", () => {
  const plan = planTorchGenerated(ROOT);

  it("emits every model of specs/ with the do-not-edit header and spec hash", () => {
    expect(plan.failed).toEqual([]);
    for (const name of ["tiny", "peer_1m", "dense", "moe", "pkm", "peer"]) expect(plan.folders.has(name), name).toBe(true);
    for (const [folder, files] of plan.folders) {
      // generated/torch/ shares one peerc_runtime.py (plan.shared); `peerc compile` copies it into each folder.
      expect([...files.keys()]).toEqual(TORCH_FILES.filter((n) => n !== "peerc_runtime.py"));
      for (const name of ["model.py", "train.py"]) {
        const text = files.get(name)!;
        expect(text.startsWith(`# ${GENERATED_MARK}.`), `${folder}/${name}`).toBe(true);
        expect(text).toMatch(/^# hash: {2}sha256:[0-9a-f]{64}$/m);
      }
    }
  });

  it("writes each product-key layer's retrieval with h, k, k' and √N as literals", () => {
    const tiny = plan.folders.get("tiny")!.get("model.py")!;
    expect(tiny).toContain("# retrieval: h = 4 heads, k = 8, sub-top-k k' = 8, √N = 64 sub-keys per half, key_dim 64");
    expect(tiny).toContain('rt.route(q, [(self.keys_1, self.keys_2)], 4, 64, 64, 8, 8, "softmax", ctx, "blocks.1.peer", 4096)');
    expect(tiny).toContain("self.experts_u = rt.ExpertTable(path + \".experts.u\", 4096, 128)");
    // One class per distinct layer: three blocks share one attention class.
    expect(tiny.match(/^class Attention\d+/gm)).toEqual(["class Attention1"]);
    expect(tiny.match(/= Attention1\(/g)).toHaveLength(3);
    // A cost comment above every layer.
    expect(tiny).toMatch(/# blocks\.1\.peer \(peer\): params 1,086,208 · active 45,824/);
  });

  it("emits the same bytes every time, whatever was emitted in between", () => {
    const tiny = repoModel("specs/tiny.peer");
    const moe = repoModel("specs/paper.peer", "moe");
    const options = (name: string) => ({ specFile: path.join(ROOT, "specs/x.peer"), outDir: path.join(ROOT, "generated", "torch", name) });
    const first = emitTorchModelTrainer(tiny, options("tiny"));
    emitTorchModelTrainer(moe, options("moe"));
    expect(emitTorchModelTrainer(tiny, options("tiny"))).toEqual(first);
  });

  it("never lets spec text out of a Python string literal", () => {
    for (const s of ['a"b', "back\\slash", "line\nbreak\r", "\u2028sep", "é 😀", "'''", '"""; import os']) {
      const lit = pyString(s);
      expect(lit).toMatch(/^"[\x20-\x7e]*"$/);
      expect(lit.slice(1, -1)).not.toMatch(/(^|[^\\])(\\\\)*"/);
    }
    const spec = `model q {
  vocab 256
  context 8
  embed tokens(dim: 8)
  residual { norm rms; ffw(hidden: 16) }
  lm_head tied
}
train q {
  batch 2
  steps 1
  optimizer adamw(lr: 1e-3)
  data bytes("we\\"ird\\\\name.txt", val: 10%)
}`;
    const model = checkedModels(spec)[0]!;
    const files = emitTorchModelTrainer(model, { specFile: path.join(dir, "q.peer"), outDir: path.join(dir, "q") });
    expect(files.get("train.py")).toContain('DATA = "../we\\"ird\\\\name.txt"');
  });

  it.skipIf(found === null)(`writes Python that parses and literals that read back exactly${NO_PYTHON}`, () => {
    const strings = ['a"b', "back\\slash", "line\nbreak\r", "\u2028sep", "é 😀", "\u0000nul"];
    const probe = path.join(dir, "probe.py");
    fs.writeFileSync(probe, `import json\nprint(json.dumps([${strings.map(pyString).join(", ")}, ${pyValue({ a: [1, 2.5, null, true] })}]))\n`);
    const r = spawnSync(found!.python, [probe], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual([...strings, { a: [1, 2.5, null, true] }]);
    const files: string[] = [];
    writeOutputs(path.join(dir, "all"), [...plan.shared].map(([name, text]) => ({ name, text })));
    for (const [folder, emitted] of plan.folders) {
      const out = path.join(dir, "all", folder);
      writeOutputs(out, [...emitted].map(([name, text]) => ({ name, text })));
      files.push(path.join(out, "model.py"), path.join(out, "train.py"));
    }
    const c = spawnSync(found!.python, ["-m", "py_compile", ...files], { encoding: "utf8" });
    expect(c.stderr).toBe("");
    expect(c.status).toBe(0);
    // The tiny model builds and names its tensors as docs/weights.md does.
    const names = spawnSync(found!.python, ["-c", "import sys; sys.path.insert(0, sys.argv[1]); import model; m = model.Model(); print('\\n'.join(n for n, _ in m.export_tensors()))", path.join(dir, "all", "tiny")], { encoding: "utf8" });
    expect(names.stderr).toBe("");
    const list = names.stdout.trim().split("\n");
    for (const n of ["embed.weight", "blocks.0.attention.wq", "blocks.1.peer.query.w", "blocks.1.peer.query.bn.running_var", "blocks.1.peer.keys.1", "blocks.1.peer.experts.u", "blocks.1.peer.experts.v", "norm.gain"]) expect(list).toContain(n);
  });
});

describe("torch identifiers", () => {
  it("keeps layer attributes distinct, off Python keywords and off the model's own names", async () => {
    const { pyIdentifiers } = await import("../../targets/torch/python.js");
    expect(pyIdentifiers(["a.b", "a__b", "pass", "train", "0x", "norm"])).toEqual(["a__b", "a__b_2", "l_pass", "train_2", "l_0x", "norm"]);
  });
});
