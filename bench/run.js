#!/usr/bin/env node
// `npm run bench [name…]`: runs the benchmarks of bench/ one after another, each
// in its own process (tfjs backends and heaps are process-global), and stops at
// the first failure. With names, runs only those (e.g. `npm run bench report`).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const benches = [
  ["fuzz-check", "10,000 mutated specs through `check`; check time of the largest spec"],
  ["report", "`peerc report` on the 1M-expert spec vs allocating its weights in tfjs"],
  ["tokenizer", "BPE training and encoding speed"],
  ["runtime-kernels", "the runtime's kernel fixes vs stock tfjs kernels; attention paths"],
  ["small-lms", "tokens/s and MFU of a small dense and a small PEER LM on wasm"],
  ["peer-layer", "one PEER layer step from N = 64^2 to 1024^2; sparse vs dense path"],
  ["emitted-vs-generic", "tokens/s of the emitted trainer vs the generic model"],
  ["peer-lm", "a PEER LM with 1024^2 experts training on this machine"],
  ["sparse-update", "the lazy AdamW expert update, old vs new, 1 vs 2 threads"],
  ["threads", "the host expert kernels (top-k, fused fwd/bwd, update) on 1 vs 2 threads, alternating"],
  ["kernel-calls", "kernel calls per training step of tiny.peer (fused clip + AdamW)"],
  ["gpu", "the device benchmark: adapter, matmul, the paper's PEER layer (pass --small on lavapipe)"],
  ["torch-cpu", "the torch target's CPU tokens/s next to the TypeScript trainer's"],
  ["vs-torch", "peerc vs a PyTorch CPU trainer on dense and PEER LMs (long)"],
  ["bf16-moments", "tiny.peer loss with fp32 vs bf16 expert moments (long)"],
  ["peer-lm-4x1m", "the 4-block LM with 1024^2 experts in every block, bf16 expert moments (needs ~19 GiB)"],
];

const wanted = process.argv.slice(2);
const tsx = fileURLToPath(new URL("../node_modules/.bin/tsx", import.meta.url));
for (const [name, what] of benches) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const file = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  if (!existsSync(file)) {
    console.log(`\n== ${name}: missing (${file})`);
    continue;
  }
  console.log(`\n== ${name}: ${what}\n$ npx tsx bench/${name}.ts`);
  const result = spawnSync(tsx, [file], { stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`bench ${name} failed with exit code ${result.status}`);
    process.exit(1);
  }
}
