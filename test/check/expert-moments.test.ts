/**
 * `optimizer adamw(expert_moments: fp32 | bf16)`: the checker's reading of the
 * knob, its diagnostic for a bad value, and the spec hash (checkpoints name the
 * hash they belong to: a spec that does not ask for bf16 must keep its hash).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { checkSource } from "../../compiler/check/index.js";
import { check, codes, modelWith, onlyModel } from "./helpers.js";

const repo = path.resolve(import.meta.dirname, "../..");
const withOptimizer = (args: string) => check(modelWith("", { post: `train m {\n  batch 8\n  steps 10\n  optimizer adamw(${args})\n}` }));

describe("expert_moments", () => {
  it("is absent from the IR by default and when written as fp32; bf16 is recorded", () => {
    expect(onlyModel(withOptimizer("lr: 1e-3")).train!.optimizer.expertMoments).toBeUndefined();
    const fp32 = onlyModel(withOptimizer("lr: 1e-3, expert_moments: fp32")).train!.optimizer;
    expect("expertMoments" in fp32).toBe(false);
    expect(onlyModel(withOptimizer("lr: 1e-3, expert_moments: bf16")).train!.optimizer.expertMoments).toBe("bf16");
  });

  it("keeps the spec hash unless bf16 is asked for", () => {
    const base = onlyModel(withOptimizer("lr: 1e-3")).hash;
    expect(onlyModel(withOptimizer("lr: 1e-3, expert_moments: fp32")).hash).toBe(base);
    expect(onlyModel(withOptimizer("lr: 1e-3, expert_moments: bf16")).hash).not.toBe(base);
  });

  it("leaves specs/tiny.peer's hash as its checked-in trainer (and its checkpoints) record it", () => {
    const ir = checkSource("specs/tiny.peer", fs.readFileSync(path.join(repo, "specs/tiny.peer"), "utf8")).program.models[0]!;
    const header = fs.readFileSync(path.join(repo, "generated/tiny/train.ts"), "utf8").match(/hash: {2}sha256:([0-9a-f]{64})/);
    expect(header?.[1]).toBe(ir.hash);
  });

  it("refuses another value with E0305 and a help that says what each value does", () => {
    const result = withOptimizer("lr: 1e-3, expert_moments: bf8");
    expect(codes(result)).toEqual(["E0305"]);
    const d = result.diagnostics[0]!;
    expect(d.message).toBe("`expert_moments` cannot be bf8");
    expect(d.help).toContain("allowed: `fp32` (the default) or `bf16`");
    expect(d.help).not.toContain("fp16");
    expect(result.program.models).toHaveLength(0);
    // fp16, the likely slip, is told why it is not offered.
    expect(withOptimizer("lr: 1e-3, expert_moments: fp16").diagnostics[0]!.help).toContain("fp16 is not offered");
  });

  it("refuses a number or a string that is not a precision", () => {
    expect(codes(withOptimizer("lr: 1e-3, expert_moments: 16"))).toEqual(["E0305"]);
    expect(codes(withOptimizer('lr: 1e-3, expert_moments: "fp16"'))).toEqual(["E0305"]);
  });

  it("a bad value does not hide another error of the section", () => {
    const result = check(modelWith("", { post: "train m {\n  batch 8\n  steps 10\n  micro_batch 3\n  optimizer adamw(lr: 1e-3, expert_moments: half)\n}" }));
    expect(codes(result).sort()).toEqual(["E0305", "E0505"]);
    expect(result.diagnostics.find((d) => d.code === "E0305")!.message).toBe("`expert_moments` cannot be half");
  });
});
