/**
 * bench/gpu.ts --small runs end to end on lavapipe and prints every figure
 * the device benchmark promises (values are not checked: speed is for bench/).
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { noAdapter, skipNote } from "./adapter.js";

const repo = path.resolve(import.meta.dirname, "../..");

describe.skipIf(noAdapter !== null)(`bench/gpu.ts --small on lavapipe${skipNote}`, () => {
  it("prints adapter, matmul rates, the PEER layer with kernels and with tf ops, and two LMs' tokens/s and MFU", () => {
    const run = spawnSync(path.join(repo, "node_modules/.bin/tsx"), ["bench/gpu.ts", "--small"], { cwd: repo, encoding: "utf8", env: { ...process.env, STEPS: "1" }, timeout: 170_000 });
    expect(run.status, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/^backend: webgpu \(.*maxStorageBufferBindingSize \d+ MiB, maxBufferSize [\d,]+ MiB\)$/m);
    expect(out).toMatch(/^256³: [\d.]+ GFLOP\/s$/m);
    expect(out).toMatch(/^512³: [\d.]+ GFLOP\/s$/m);
    for (const tokens of [256, 1024]) {
      expect(out).toMatch(new RegExp(`^${tokens} tokens, WGSL kernels: [\\d.]+ ms, peak \\d+ MiB$`, "m"));
      expect(out).toMatch(new RegExp(`^${tokens} tokens, tfjs ops only: [\\d.]+ ms, peak \\d+ MiB$`, "m"));
    }
    expect(out.match(/tokens\/s, MFU [\d.]+%$/gm)?.length).toBe(2);
    expect(out).not.toMatch(/failed:/);
  });
});
