/**
 * Memory preflight: before a trainer allocates anything, estimate the run's
 * memory from the IR and refuse a run that cannot fit, with one line that names
 * the estimate, the limit and the largest parts. A run at 1024² experts holds
 * gigabytes of expert tables; finding out it does not fit after a minute of
 * initialisation (or as heap corruption inside wasm, tfjs-runtime.md §3) is
 * what this avoids.
 *
 * The dense figures are the static cost model's, computed at compile time and
 * passed in by the trainer (`DenseMemoryFigures`: the runtime does not import
 * compiler/cost), scaled to the run's batch, micro-batch and context; the
 * expert tables are sized by the runtime's own layout. Split by where they live:
 *   host, outside tfjs   the expert tables (PEER u/v, PKM values), their Adam
 *                        moments (fp32, or bf16 with the train section's
 *                        `expert_moments: bf16`), lastStep/rowSlot and the
 *                        gradient scratch (runtime/experts/memory.ts), as
 *                        ExpertTable holds them
 *   tfjs tensors         dense weights, gradients, AdamW moments, buffers and
 *                        saved activations: inside the 4 GiB wasm32 heap on wasm
 *   runtime baseline     Node, tfjs and the wasm module at rest
 */
import * as fs from "node:fs";
import * as os from "node:os";
import type { ExpertMomentPrecision, ModelArchitecture } from "../../ir/types.js";
import { expertTablesOf, sparseTableBytes } from "../experts/memory.js";

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const F32 = 4;

/** `getHeapMax()` of tfjs-backend-wasm (wasm32): what lives in tfjs tensors must fit here. */
export const WASM_HEAP_LIMIT_BYTES = 4294901760;
/**
 * Node, tfjs and the wasm module with a small model: the peer-layer bench measured
 * 390–500 MiB of RSS beyond the expert tables (docs/benchmarks.md, "PEER layer").
 */
export const RUNTIME_BASELINE_BYTES = 512 * MiB;

/**
 * The cost model's fp32 figures for the dense part of a model (compiler/cost
 * `denseMemoryFigures`, written into every emitted trainer): parameters outside
 * the expert tables, buffer bytes, and activation bytes kept per token of a pass.
 */
export interface DenseMemoryFigures {
  readonly denseParams: number;
  readonly bufferBytes: number;
  readonly activationBytesPerToken: number;
}

/** The shape of one run: sequences per optimizer step and per forward pass, tokens per sequence. */
export interface RunShape {
  readonly batch: number;
  readonly microBatch: number;
  readonly context: number;
}

export interface MemoryPart {
  readonly name: string;
  readonly bytes: number;
  /** Held in tfjs tensors (the wasm heap on the wasm backend). */
  readonly tfjs: boolean;
}

export interface RunMemoryEstimate {
  readonly parts: readonly MemoryPart[];
  /** Everything, host and tfjs. */
  readonly totalBytes: number;
  /** The parts held in tfjs tensors. */
  readonly tfjsBytes: number;
  /** How the expert tables' Adam moments are stored, and their bytes (part of "expert Adam state and gradients"). */
  readonly expertMoments: ExpertMomentPrecision;
  readonly expertMomentBytes: number;
}

export interface MachineMemory {
  readonly bytes: number;
  /** Where the figure came from, for the message. */
  readonly source: string;
}

/**
 * The run's memory by part. Expert tables follow `sparseTableBytes` (the runtime's
 * own layout, scratch at one step's tokens); dense parts scale the cost model's
 * figures to the run's shape. Without figures (a hand-built target) only the
 * expert tables and the baseline are counted.
 */
export function estimateRunMemory(ir: ModelArchitecture, shape: RunShape, dense: DenseMemoryFigures | null): RunMemoryEstimate {
  const tokensPerStep = shape.batch * shape.context;
  const tokensPerPass = shape.microBatch * shape.context;
  let expertWeights = 0;
  let expertState = 0;
  const moments = ir.train?.optimizer.expertMoments ?? "fp32";
  for (const layer of ir.layers) {
    // The expert tables of each layer's weight manifest (kinds/<kind>/weights.ts).
    const weights = expertTablesOf(layer).reduce((sum, t) => sum + t.rows * t.cols * F32, 0);
    expertWeights += weights;
    expertState += sparseTableBytes(layer, tokensPerStep, moments) - weights;
  }
  // m and v: two values per table element, 4 or 2 bytes each.
  const expertMomentBytes = (expertWeights / F32) * 2 * (moments === "bf16" ? 2 : 4);
  const denseParams = dense?.denseParams ?? 0;
  const parts: MemoryPart[] = [
    { name: "expert tables", bytes: expertWeights, tfjs: false },
    { name: "expert Adam state and gradients", bytes: expertState, tfjs: false },
    { name: "dense weights", bytes: F32 * denseParams, tfjs: true },
    { name: "dense gradients", bytes: F32 * denseParams, tfjs: true },
    { name: "dense Adam state", bytes: 2 * F32 * denseParams + (dense?.bufferBytes ?? 0), tfjs: true },
    {
      name: `activations at ${shape.microBatch} × ${shape.context} tokens`,
      bytes: (dense?.activationBytesPerToken ?? 0) * tokensPerPass,
      tfjs: true,
    },
    { name: "runtime baseline", bytes: RUNTIME_BASELINE_BYTES, tfjs: false },
  ].filter((p) => p.bytes > 0);
  const totalBytes = parts.reduce((s, p) => s + p.bytes, 0);
  const tfjsBytes = parts.filter((p) => p.tfjs).reduce((s, p) => s + p.bytes, 0);
  return { parts, totalBytes, tfjsBytes, expertMoments: moments, expertMomentBytes };
}

/** What the cgroup (v2 memory.max, v1 limit_in_bytes) or the OS allows this process. */
export function machineMemory(readFile: (file: string) => string | undefined = readSmallFile, totalmem: () => number = os.totalmem): MachineMemory {
  let best: MachineMemory = { bytes: totalmem(), source: "total memory" };
  for (const file of ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]) {
    const text = readFile(file)?.trim();
    if (text === undefined || !/^\d+$/.test(text)) continue; // "max" = no limit
    const bytes = Number(text);
    if (bytes > 0 && bytes < best.bytes) best = { bytes, source: `cgroup limit ${file}` };
  }
  return best;
}

function readSmallFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

export function formatBytes(bytes: number): string {
  return bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${Math.max(1, Math.round(bytes / MiB))} MiB`;
}

function largest(parts: readonly MemoryPart[], count: number): string {
  return [...parts]
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, count)
    .map((p) => `${p.name} ${formatBytes(p.bytes)}`)
    .join(", ");
}

/**
 * Why the run cannot fit, as one line each (empty when it fits): the machine's
 * memory for everything, and on wasm also the 4 GiB heap for the tfjs part.
 */
export function memoryProblems(estimate: RunMemoryEstimate, machine: MachineMemory, backend: string): string[] {
  const problems: string[] = [];
  if (estimate.totalBytes > machine.bytes) {
    // bf16 moments halve the expert moments: name that remedy, with its saving, where it applies.
    const bf16 =
      estimate.expertMoments === "fp32" && estimate.expertMomentBytes > 0
        ? `, set \`expert_moments: bf16\` in the train section's optimizer (saves ${formatBytes(estimate.expertMomentBytes / 2)})`
        : "";
    problems.push(
      `this run needs about ${formatBytes(estimate.totalBytes)} (${largest(estimate.parts, 3)}) but the machine has ${formatBytes(machine.bytes)} (${machine.source}); ` +
        `reduce the experts, the batch or the context${bf16}, or pass --force-memory to try anyway`,
    );
  }
  if (backend === "wasm" && estimate.tfjsBytes > WASM_HEAP_LIMIT_BYTES) {
    const inHeap = estimate.parts.filter((p) => p.tfjs);
    problems.push(
      `this run's tfjs tensors need about ${formatBytes(estimate.tfjsBytes)} (${largest(inHeap, 3)}) but the wasm heap holds at most ${formatBytes(WASM_HEAP_LIMIT_BYTES)}; ` +
        `reduce the batch (--batch) or the context, or pass --force-memory to try anyway`,
    );
  }
  return problems;
}

export interface PreflightResult {
  readonly estimate: RunMemoryEstimate;
  readonly machine: MachineMemory;
  /** One line per limit the run exceeds; empty when it fits. */
  readonly problems: readonly string[];
}

/** Estimate the run and compare with the machine (injectable for tests). */
export function preflightMemory(
  ir: ModelArchitecture,
  shape: RunShape,
  dense: DenseMemoryFigures | null,
  backend: string,
  machine: MachineMemory = machineMemory(),
): PreflightResult {
  const estimate = estimateRunMemory(ir, shape, dense);
  return { estimate, machine, problems: memoryProblems(estimate, machine, backend) };
}
