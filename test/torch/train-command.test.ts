/** `peerc train SPEC --target torch`: the cache, the python it picks, its first line, and the message when torch is missing. */
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { peercRoot } from "../../compiler/emit/package-root.js";
import { cacheDir } from "../../compiler/emit/cache.js";
import { PEERC_VERSION } from "../../ir/version.js";
import { BUILTIN_CORPUS_FILE, trainTorch } from "../../targets/torch/train-command.js";
import { findTorchPython } from "../../targets/torch/python-env.js";
import { checkedModels, tempDir } from "../emit/helpers.js";

const { found, tried } = findTorchPython();
const dir = tempDir("peerc-torch-train-");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const SPEC = (data: string | null) => `model tt {
  vocab 256
  context 8
  embed tokens(dim: 16)
  residual { norm rms; peer(experts: 4^2, heads: 2, topk: 2, key_dim: 8) }
  lm_head tied
}
train tt {
  batch 2
  steps 2
  optimizer adamw(lr: 1e-3)
  data bytes(${data === null ? "" : `"${data}", `}val: 10%)
}`;

function io(env: Record<string, string | undefined>) {
  const err: string[] = [];
  return { err, io: { cwd: dir, env: { ...process.env, PEERC_CACHE: path.join(dir, "cache"), ...env }, stderr: (t: string) => err.push(t) } };
}

describe("peerc train --target torch", () => {
  it("names the missing piece when no python with torch is found", async () => {
    const { err, io: out } = io({ PEERC_PYTHON: path.join(dir, "no-such-python3") });
    let ran = false;
    const code = await trainTorch(out, checkedModels(SPEC(null))[0]!, path.join(dir, "tt.peer"), [], async () => ((ran = true), 0));
    expect(code).toBe(1);
    expect(ran).toBe(false);
    expect(err.join("")).toContain("--target torch needs a python3 that imports torch");
    expect(err.join("")).toContain("no-such-python3");
    expect(err.join("")).toContain("apt-get install python3-torch");
  });

  it.skipIf(found === null)(`compiles into the cache and runs train.py, whose first line names torch, the device and python${found ? "" : ` (skipped: ${tried.join("; ")})`}`, async () => {
    fs.writeFileSync(path.join(dir, "data.txt"), "abcdefgh ".repeat(200));
    const { err, io: out } = io({});
    let lines: string[] = [];
    const run = async (python: string, script: string, args: readonly string[], cwd: string) => {
      const r = spawnSync(python, [script, ...args], { cwd, encoding: "utf8" });
      lines = r.stdout.trim().split("\n");
      return r.status ?? 1;
    };
    const model = checkedModels(SPEC("data.txt"))[0]!;
    const code = await trainTorch(out, model, path.join(dir, "tt.peer"), ["--out", path.join(dir, "run"), "--threads", "1"], run);
    expect(code, err.join("") + lines.join("\n")).toBe(0);
    expect(err.join("")).toMatch(/compiled tt \(torch target\) into .*cache/);
    expect(err.join("")).toContain(`running ${found!.python} (torch ${found!.torchVersion})`);
    expect(lines[0]).toMatch(/^torch \S+ on (cpu|cuda \(.+\)), python [0-9.]+ \(.+\)$/);
    expect(lines.at(-1)).toMatch(/^done: 2 steps/);
    // A second run reuses the cache.
    const again = io({});
    await trainTorch(again.io, model, path.join(dir, "tt.peer"), ["--out", path.join(dir, "run2"), "--threads", "1"], run);
    expect(again.err.join("")).toContain("using cached torch trainer");
  });

  const dist = path.join(peercRoot(), "dist", "runtime", "data", "index.js");
  it.skipIf(found === null || !fs.existsSync(dist))(`writes the built-in corpus for a spec without data${fs.existsSync(dist) ? "" : " (skipped: dist/ not built)"}`, async () => {
    const { io: out } = io({});
    const model = checkedModels(SPEC(null))[0]!;
    await trainTorch(out, model, path.join(dir, "tt.peer"), ["--help"], async () => 0);
    const folder = cacheDir(path.join(dir, "tt.peer"), model, `${PEERC_VERSION}-torch`, out.env);
    const corpus = fs.readFileSync(path.join(folder, BUILTIN_CORPUS_FILE), "utf8");
    expect(corpus.length).toBeGreaterThan(100_000);
    expect(corpus).toMatch(/ plus /);
  });
});
