/**
 * Roofline targets: peak dense throughput and memory bandwidth.
 * - h100: NVIDIA H100 SXM5 80GB datasheet — 989 TFLOP/s BF16 Tensor Core dense
 *   (1,979 with 2:4 sparsity), 3.35 TB/s HBM3.
 * - a100: NVIDIA A100 SXM4 80GB datasheet — 312 TFLOP/s BF16 Tensor Core dense,
 *   2,039 GB/s HBM2e.
 * - cpu: no honest default exists; the user passes --cpu-peak / --cpu-bandwidth,
 *   and without them it is not estimated.
 */
import type { Precision } from "./types.js";

export interface Target {
  readonly name: string;
  readonly description: string;
  readonly peakFlops: number;
  readonly bandwidth: number;
  /** Precision of the peak: weights and activations move at this width. */
  readonly precision: Precision;
}

export const TARGET_NAMES = ["h100", "a100", "cpu"] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export const H100: Target = {
  name: "h100",
  description: "NVIDIA H100 SXM5: 989 TFLOP/s bf16 dense, 3.35 TB/s HBM3",
  peakFlops: 989e12,
  bandwidth: 3.35e12,
  precision: "bf16",
};

export const A100: Target = {
  name: "a100",
  description: "NVIDIA A100 SXM4 80GB: 312 TFLOP/s bf16 dense, 2.039 TB/s HBM2e",
  peakFlops: 312e12,
  bandwidth: 2.039e12,
  precision: "bf16",
};

/** The targets a report estimates: the GPUs always, the cpu when its peak is given. */
export function targetsFor(options: { cpuPeakFlops?: number; cpuBandwidth?: number }): Target[] {
  const targets = [H100, A100];
  if (options.cpuPeakFlops !== undefined && options.cpuPeakFlops > 0) {
    // Without a bandwidth, a cpu estimate is compute-only (infinite bandwidth).
    const bandwidth = options.cpuBandwidth !== undefined && options.cpuBandwidth > 0 ? options.cpuBandwidth : Infinity;
    targets.push({
      name: "cpu",
      description: `cpu: ${options.cpuPeakFlops} FLOP/s fp32 (given)` + (Number.isFinite(bandwidth) ? `, ${bandwidth} B/s (given)` : ", bandwidth not given"),
      peakFlops: options.cpuPeakFlops,
      bandwidth,
      precision: "fp32",
    });
  }
  return targets;
}
