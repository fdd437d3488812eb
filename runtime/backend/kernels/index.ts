/**
 * Registers, once per backend, the kernels and gradients that training needs
 * and tfjs 4.22 lacks or gets wrong (tfjs-runtime.md §2). Each patch lives in
 * its own file with the reason it exists.
 */
import { registerWebGpuAddN } from "./add-n-webgpu.js";
import { registerWasmBatchMatMul } from "./batch-mat-mul-wasm.js";
import { registerGatherV2 } from "./gather-v2.js";
import { nativeMatmul } from "./native-matmul.js";
import { registerTensorflowGatherV2 } from "./gather-v2-tensorflow.js";
import { registerSumMeanGradients } from "./sum-mean-grad.js";
import { registerUnsortedSegmentSum } from "./unsorted-segment-sum.js";

const patched = new Set<string>();
let gradientsPatched = false;

/** The patches applied for a backend, for the start-up report. */
export function runtimePatches(backendName: string): string[] {
  const common = ["Sum/Mean gradients via onesLike"];
  switch (backendName) {
    case "wasm":
      return ["UnsortedSegmentSum (JS)", "GatherV2 (row copy)", nativeMatmul() !== null ? "BatchMatMul (native sgemm: OpenBLAS, else peerc's)" : "BatchMatMul (XNNPACK for transposed/batched)", ...common];
    case "cpu":
      return ["UnsortedSegmentSum (one pass)", "GatherV2 (row copy)", ...common];
    case "tensorflow":
      return ["GatherV2 (no host bounds check)", ...common];
    case "webgpu":
      return ["AddN (chunked below maxStorageBuffersPerShaderStage)", ...common];
    default:
      return common;
  }
}

/** Idempotent: a second call for the same backend does nothing. */
export function registerRuntimeKernels(backendName: string): void {
  if (!gradientsPatched) {
    registerSumMeanGradients();
    gradientsPatched = true;
  }
  if (patched.has(backendName)) return;
  if (backendName === "wasm") {
    registerUnsortedSegmentSum("wasm");
    registerGatherV2("wasm");
    registerWasmBatchMatMul();
  } else if (backendName === "cpu") {
    registerUnsortedSegmentSum("cpu");
    registerGatherV2("cpu");
  } else if (backendName === "tensorflow") {
    registerTensorflowGatherV2();
  } else if (backendName === "webgpu") {
    registerWebGpuAddN();
  }
  patched.add(backendName);
}
