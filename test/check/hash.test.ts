import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../compiler/check/hash.js";
import { check, checkMemory, onlyModel } from "./helpers.js";

const SPEC = `let d = 64
model m {
  vocab 256
  context 64
  embed tokens(dim: d)
  repeat 2 { residual { norm rms; attention(heads: 4, causal) } }
  lm_head tied
}
train m { batch 8; steps 10; optimizer adamw(lr: 1e-3) }
`;

const REFORMATTED = `// the same model, written differently
let d = 2 * 32

model m {
    vocab 2^8
    context 64
    embed tokens(dim: d)   // width
    repeat 2 {
        residual {
            norm
            attention(causal: true, heads: 4)
        }
    }
    lm_head tied
}

train m {
    batch 8
    steps 10
    optimizer adamw(lr: 0.001)
}
`;

describe("spec hash", () => {
  it("is the same for the same model written differently, or in another file", () => {
    const a = onlyModel(check(SPEC));
    const b = onlyModel(check(REFORMATTED));
    const moved = onlyModel(checkMemory({ "elsewhere/renamed.peer": SPEC }));
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.hash).toBe(a.hash);
    expect(moved.hash).toBe(a.hash);
  });

  it("changes with any dimension or setting", () => {
    const base = onlyModel(check(SPEC)).hash;
    expect(onlyModel(check(SPEC.replace("let d = 64", "let d = 128"))).hash).not.toBe(base);
    expect(onlyModel(check(SPEC.replace("heads: 4", "heads: 8"))).hash).not.toBe(base);
    expect(onlyModel(check(SPEC.replace("steps 10", "steps 11"))).hash).not.toBe(base);
  });

  it("sorts keys and drops spans", () => {
    expect(canonicalJson({ b: 1, a: { span: { line: 1 }, z: [1, { file: "x", y: 2 }] } })).toBe('{"a":{"z":[1,{"y":2}]},"b":1}');
  });
});
