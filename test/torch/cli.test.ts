/** `peerc compile --target torch` through the command line: the files, the message, and a bad target. */
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { runCli } from "../../compiler/cli/main.js";
import { memoryIO } from "../../compiler/cli/io.js";
import { TORCH_FILES } from "../../targets/torch/index.js";
import { ROOT, tempDir } from "../emit/helpers.js";

const dir = tempDir("peerc-torch-cli-");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("peerc compile --target torch", () => {
  it("writes the torch trainer and says how to run it", async () => {
    const io = memoryIO({ cwd: dir });
    const code = await runCli(["compile", path.join(ROOT, "specs/tiny.peer"), "--target", "torch", "-o", "out"], io);
    expect(code, io.stderrText).toBe(0);
    for (const name of TORCH_FILES) expect(fs.existsSync(path.join(dir, "out", name)), name).toBe(true);
    expect(io.stderrText).toContain("run: python3 out/train.py --help");
    expect(fs.readFileSync(path.join(dir, "out", "model.py"), "utf8")).toContain("class Peer1(rt.LayerModule):");
  });

  it("refuses an unknown target with a usage error, writing nothing", async () => {
    const io = memoryIO({ cwd: dir });
    const code = await runCli(["compile", path.join(ROOT, "specs/tiny.peer"), "--target", "jax", "-o", "none"], io);
    expect(code).toBe(2);
    expect(io.stderrText).toContain('--target must be ts (alias tfjs) or torch, got "jax"');
    expect(fs.existsSync(path.join(dir, "none"))).toBe(false);
  });
});
