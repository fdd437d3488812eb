/**
 * peerc (wasm + native OpenBLAS matmul, Trainer) against a PyTorch CPU trainer (bench/torch_lm.py) on the
 * same byte LMs, side by side in one run: tokens/s, the ratio, and each side's
 * MFU against its own matmul probe (1024² matmul, best of 5, in the same
 * process as the training). Sides alternate within each round (peerc, torch,
 * peerc, torch, …), each side in a fresh process.
 *
 * Configs (issue 12): d 256, 4 blocks, 4 heads, context 128, batch 16, tied head,
 * RMSNorm + RoPE, AdamW (clip 1.0); "dense": FFW 1024 in every block; "peer":
 * PEER 256² (h 4, k 16, key dim 128) in every block; plus specs/tiny.peer.
 * FLOPs/token for both sides come from peerc's cost model of the spec.
 *
 *   STEPS=3 ROUNDS=2 THREADS=1,2 npx tsx bench/vs-torch.ts
 *   CONFIGS=dense,peer,tiny (default all)
 *
 * Threads: torch uses torch.set_num_threads(n). peerc runs the round's thread
 * count too: its matmuls on OpenBLAS (native/, runtime/backend/kernels/native-matmul.ts;
 * PEERC_NATIVE=0 for the wasm XNNPACK kernels, which are single-threaded in Node)
 * and its host expert kernels on the worker pool (--threads). The rest of the
 * wasm backend stays on one thread. Torch runs under jemalloc when it is installed
 * (LD_PRELOAD), since glibc malloc returning and re-mapping its large buffers
 * makes each step pay page faults (/work/shared/tfjs-runtime.md §6).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { checkSource } from "../compiler/check/index.js";
import { costModel } from "../compiler/cost/index.js";
import type { IRModel } from "../ir/types.js";
import { describeMatmul, setNativeThreads } from "../runtime/backend/kernels/native-matmul.js";
import { setExpertThreads } from "../runtime/experts/kernel-pool.js";
import { buildModel, selectBackend, Trainer } from "../runtime/index.js";
import { measureMatmulPeak } from "../runtime/metrics/index.js";

const repo = path.resolve(import.meta.dirname, "..");
const STEPS = Number(process.env["STEPS"] ?? 3);
const ROUNDS = Number(process.env["ROUNDS"] ?? 2);
const THREADS = (process.env["THREADS"] ?? "1,2").split(",").map(Number);
const CONFIGS = (process.env["CONFIGS"] ?? "dense,peer,tiny").split(",");
const PYTHON = process.env["TORCH_PYTHON"] ?? "/usr/bin/python3";
const JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";

interface Config {
  readonly name: string;
  readonly label: string;
  readonly spec: string;
  /** bench/torch_lm.py's config (without steps/threads). */
  readonly torch: Record<string, unknown>;
}

function issueSpec(name: string, ffw: string): string {
  return `let d = 256
model ${name} {
  vocab 256
  context 128
  embed tokens(dim: d)
  positions rope
  repeat 4 as i {
    residual {
      norm rms
      attention(heads: 4, head_dim: 64, causal)
    }
    residual {
      norm rms
      ${ffw}
    }
  }
  norm rms
  lm_head tied
}

train ${name} {
  batch 16
  steps 400
  optimizer adamw(lr: 3e-3, betas: (0.9, 0.95), weight_decay: 0.1, clip: 1.0, expert_lr: 1e-2)
  schedule cosine(warmup: 5%, min_lr: 10%)
  data bytes(val: 5%)
}
`;
}

const base = { d: 256, blocks: 4, heads: 4, head_dim: 64, ctx: 128, batch: 16 };
const ALL: Config[] = [
  { name: "dense", label: "dense FFW 1024 (d 256, 4 blocks)", spec: issueSpec("dense", "ffw(hidden: 1024, act: gelu)"), torch: { ...base, ffw: { kind: "dense", hidden: 1024 } } },
  {
    name: "peer",
    label: "PEER 256² every block (d 256, 4 blocks)",
    spec: issueSpec("peer", "peer(experts: 256^2, heads: 4, topk: 16, key_dim: 128, act: gelu, query_norm: batch)"),
    torch: { ...base, ffw: { kind: "peer", experts: 65536, heads: 4, topk: 16, key_dim: 128 } },
  },
  {
    name: "tiny",
    label: "specs/tiny.peer (d 128, 3 blocks, PEER 64² in block 1)",
    spec: fs.readFileSync(path.join(repo, "specs/tiny.peer"), "utf8"),
    torch: { d: 128, blocks: 3, heads: 4, head_dim: 32, ctx: 128, batch: 16, ffw: { kind: "peer", experts: 4096, heads: 4, topk: 8, key_dim: 64, blocks: [1], hidden: 512 } },
  },
];

interface SideResult {
  readonly stepS: number[];
  readonly probeGflops: number;
  /** peerc: the first line's matmul part. */
  readonly matmul?: string;
}

function irOf(config: Config): IRModel {
  const result = checkSource(`bench/${config.name}.peer`, config.spec);
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(`${config.name}: ${errors[0]!.message}`);
  return result.program.models[0]!;
}

/** Child: train `steps` steps of the config with peerc on wasm, on `threads` threads. */
async function peercChild(config: Config, threads: number): Promise<SideResult> {
  const ir = irOf(config);
  const train = ir.train!;
  const backend = await selectBackend("wasm");
  setNativeThreads(threads);
  setExpertThreads(threads); // before the model is built (its expert tables are shared with the workers)
  const probeGflops = measureMatmulPeak(tf as never, { size: 1024, trials: 5 }) / 1e9;
  const lm = buildModel(ir, { seed: 1, backend: backend.name });
  let state = 12345;
  const data = {
    next: () => {
      const n = train.batch * ir.context;
      const inputs = new Int32Array(n);
      const targets = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        state = (state * 1103515245 + 12345) >>> 0;
        inputs[i] = state >>> 24;
        targets[i] = (state >>> 16) & 255;
      }
      return { rows: train.batch, context: ir.context, inputs, targets };
    },
  };
  const trainer = new Trainer(lm, { optimizer: train.optimizer, schedule: train.schedule, totalSteps: 400, microBatches: train.batch / train.microBatch }, data);
  trainer.step(); // warm-up
  const stepS: number[] = [];
  for (let i = 0; i < STEPS; i++) stepS.push(trainer.step().seconds);
  return { stepS, probeGflops, matmul: describeMatmul(backend.name) };
}

function runPeerc(config: Config, threads: number): SideResult | string {
  const self = fileURLToPath(import.meta.url);
  const out = spawnSync(process.execPath, [...process.execArgv, self, "--child", config.name, String(threads)], { encoding: "utf8", maxBuffer: 1 << 24 });
  const line = out.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (out.status !== 0 || line === undefined) return `peerc failed (${out.status}): ${out.stderr.slice(-500)}`;
  return JSON.parse(line.slice(7)) as SideResult;
}

function runTorch(config: Config, threads: number): SideResult | string {
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), ...(fs.existsSync(JEMALLOC) ? { LD_PRELOAD: JEMALLOC } : {}) };
  const arg = JSON.stringify({ ...config.torch, steps: STEPS, threads });
  const out = spawnSync(PYTHON, [path.join(repo, "bench/torch_lm.py"), arg], { encoding: "utf8", env, maxBuffer: 1 << 24 });
  const line = out.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (out.status !== 0 || line === undefined) return `torch failed (${out.status}): ${(out.stderr || String(out.error)).slice(-500)}`;
  const r = JSON.parse(line.slice(7)) as { step_s: number[]; probe_gflops: number };
  return { stepS: r.step_s, probeGflops: r.probe_gflops };
}

/** Median; the mean of the two middle values for an even count (ROUNDS=2 must not report the max). */
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};

function parent(): void {
  const configs = ALL.filter((c) => CONFIGS.includes(c.name));
  const rows: string[] = [];
  for (const threads of THREADS) {
    for (const config of configs) {
      const ir = irOf(config);
      const tokens = ir.train!.batch * ir.context;
      const flops = 3 * costModel(ir).totals.flopsPerToken.forward;
      const ratios: number[] = [];
      const peerc: { tps: number; mfu: number }[] = [];
      const torch: { tps: number; mfu: number }[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which side goes first.
        const order: ("peerc" | "torch")[] = round % 2 === 0 ? ["peerc", "torch"] : ["torch", "peerc"];
        const got: Record<string, SideResult | string> = {};
        for (const side of order) got[side] = side === "peerc" ? runPeerc(config, threads) : runTorch(config, threads);
        for (const side of order) {
          const r = got[side]!;
          if (typeof r === "string") {
            console.error(`${config.name} round ${round} ${side}: ${r}`);
            continue;
          }
          const tps = tokens / median(r.stepS);
          (side === "peerc" ? peerc : torch).push({ tps, mfu: (flops * tps) / (r.probeGflops * 1e9) });
          console.error(`${config.name} ${threads}T round ${round} ${side}: ${tps.toFixed(0)} tok/s (steps ${r.stepS.map((s) => s.toFixed(2)).join(", ")} s; probe ${r.probeGflops.toFixed(1)} GFLOP/s${r.matmul ? `; ${r.matmul}` : ""})`);
        }
        const p = got["peerc"];
        const t = got["torch"];
        if (typeof p !== "string" && typeof t !== "string" && p && t) ratios.push(median(t.stepS) / median(p.stepS));
      }
      const fmt = (xs: { tps: number; mfu: number }[]): string =>
        xs.length === 0 ? "failed" : `${median(xs.map((x) => x.tps)).toFixed(0)} | ${(100 * median(xs.map((x) => x.mfu))).toFixed(0)}%`;
      const range = ratios.length === 0 ? "-" : `${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
      rows.push(`| ${config.label} | ${threads} | ${fmt(peerc)} | ${fmt(torch)} | ${range} |`);
    }
  }
  console.log(`\npeerc (wasm; ${process.env["PEERC_NATIVE"] === "0" ? "wasm matmul" : "native matmul where built"}) vs PyTorch CPU, both on the row's threads: median of ${STEPS} steps after 1 warm-up, ${ROUNDS} alternating rounds; MFU = 3 × fwd FLOPs/token (peerc cost model) × tokens/s ÷ own 1024² matmul probe`);
  console.log("| model | threads | peerc tokens/s | peerc MFU | torch tokens/s | torch MFU | peerc / torch tokens/s, median (range over rounds) |");
  console.log("|---|---:|---:|---:|---:|---:|---|");
  for (const row of rows) console.log(row);
}

if (process.argv[2] === "--child") {
  const config = ALL.find((c) => c.name === process.argv[3]);
  if (config === undefined) throw new Error(`unknown config ${process.argv[3]}`);
  const result = await peercChild(config, Number(process.argv[4] ?? 1));
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
} else {
  parent();
}
