/**
 * Backend choice at start-up. `auto` tries the fastest backend first
 * (tfjs-node-gpu → webgpu on a hardware adapter → tfjs-node → wasm → cpu) and
 * records why each faster one was not used, so the first line of every run can
 * say it. A software WebGPU adapter (lavapipe) runs only when asked for by name;
 * `auto` finds out in a child process (probe.ts), so Dawn is loaded into the
 * run only when webgpu will be used.
 */
import * as tf from "@tensorflow/tfjs";
import { UserError } from "../../diagnostics/errors.js";
import { registerRuntimeKernels, runtimePatches } from "./kernels/index.js";
import { probeAdapterInChild, probeModule } from "./probe.js";
import { adapterFacts, describeAdapter, ensureRuntimeDir, initWebGpu, NO_ADAPTER, releaseWebGpu, softwareReason } from "./webgpu.js";

export type BackendRequest = "auto" | "node-gpu" | "webgpu" | "node" | "wasm" | "cpu";
export const BACKEND_REQUESTS: readonly BackendRequest[] = ["auto", "node-gpu", "webgpu", "node", "wasm", "cpu"];

export interface BackendReport {
  /** What the user asked for. */
  readonly request: BackendRequest;
  /** The candidate that runs: "node-gpu" | "webgpu" | "node" | "wasm" | "cpu". */
  readonly choice: Exclude<BackendRequest, "auto">;
  /** The tfjs backend name: "tensorflow" (both native packages), "webgpu", "wasm" or "cpu". */
  readonly name: string;
  /** Why each candidate tried before `choice` was not used, in order. */
  readonly reasons: readonly { readonly backend: string; readonly why: string }[];
  /** Kernel and gradient patches registered for this backend. */
  readonly patches: readonly string[];
  /** Extra facts about the chosen backend (device, threads). */
  readonly detail: string;
}

/** A requested backend cannot run; the message says why and what to do. */
export class BackendError extends UserError {}

const ORDER: readonly Exclude<BackendRequest, "auto">[] = ["node-gpu", "webgpu", "node", "wasm", "cpu"];
const PACKAGES = { "node-gpu": "@tensorflow/tfjs-node-gpu", node: "@tensorflow/tfjs-node" } as const;

type Attempt = { ok: true; name: string; detail: string } | { ok: false; why: string };

async function tryNative(choice: "node-gpu" | "node"): Promise<Attempt> {
  const probe = await probeModule(PACKAGES[choice]);
  if (!probe.ok) return probe;
  if (!(await tf.setBackend("tensorflow"))) return { ok: false, why: "installed, but the tensorflow backend failed to initialise" };
  const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  if (choice === "node-gpu" && backend.isUsingGpuDevice === false) {
    // tfjs-node-gpu silently falls back to the CPU when e.g. libcudnn.so.8 is missing (tfjs #8269).
    return { ok: false, why: "installed and loaded, but TensorFlow found no usable GPU (check that CUDA 11.2 and libcudnn.so.8 are on LD_LIBRARY_PATH; docs/gpu.md)" };
  }
  return { ok: true, name: "tensorflow", detail: choice === "node-gpu" ? "libtensorflow 2.9.1, GPU" : "libtensorflow 2.9.1, CPU" };
}

async function tryWasm(): Promise<Attempt> {
  const probe = await probeModule("@tensorflow/tfjs-backend-wasm");
  if (!probe.ok) return probe;
  try {
    if (!(await tf.setBackend("wasm"))) return { ok: false, why: "the wasm backend failed to initialise" };
  } catch (error) {
    return { ok: false, why: `the wasm backend failed to initialise: ${error instanceof Error ? error.message : String(error)}` };
  }
  // Threads are off in Node (tfjs #3830), SIMD is on by default: tfjs-runtime.md §1.
  return { ok: true, name: "wasm", detail: "1 thread, SIMD" };
}

async function tryCpu(): Promise<Attempt> {
  await tf.setBackend("cpu");
  // The cpu backend prints a "install tfjs-node" banner on first use; our first line already says why.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  return { ok: true, name: "cpu", detail: "plain JS" };
}

async function tryWebGpu(byName: boolean): Promise<Attempt> {
  if (!byName) {
    // `auto` asks a child process first: a software adapter (or none) is then
    // a reason on the backend line, without Dawn's stderr lines in this run.
    const probe = probeAdapterInChild(() => (ensureRuntimeDir(), process.env));
    if (probe !== null) {
      if (!probe.ok) return probe;
      if (probe.adapter === null) return { ok: false, why: NO_ADAPTER };
      const facts = adapterFacts(probe.adapter);
      if (facts.software) return { ok: false, why: softwareReason(facts) };
    }
  }
  const result = await initWebGpu({ allowSoftware: byName });
  if (!result.ok) return result;
  return { ok: true, name: "webgpu", detail: describeAdapter(result.adapter) };
}

function attempt(choice: Exclude<BackendRequest, "auto">, byName: boolean): Promise<Attempt> {
  if (choice === "node-gpu" || choice === "node") return tryNative(choice);
  if (choice === "webgpu") return tryWebGpu(byName);
  return choice === "wasm" ? tryWasm() : tryCpu();
}

/** Picks, initialises and patches a backend. Throws BackendError when an explicitly requested one cannot run. */
export async function selectBackend(request: BackendRequest = "auto"): Promise<BackendReport> {
  if (!BACKEND_REQUESTS.includes(request)) {
    throw new BackendError(`unknown backend "${request}": expected one of ${BACKEND_REQUESTS.join(", ")}`);
  }
  const candidates = request === "auto" ? ORDER : [request];
  const reasons: { backend: string; why: string }[] = [];
  for (const choice of candidates) {
    const result = await attempt(choice, request !== "auto");
    if (!result.ok) {
      reasons.push({ backend: choice, why: result.why });
      continue;
    }
    await tf.ready();
    registerRuntimeKernels(result.name);
    return { request, choice, name: result.name, reasons, patches: runtimePatches(result.name), detail: result.detail };
  }
  const last = reasons[reasons.length - 1];
  throw new BackendError(`backend ${request} is not available: ${last?.why ?? "unknown reason"}`);
}

/** The first line of a run: which backend runs and why each faster one was not used. */
export function describeBackend(report: BackendReport): string {
  const skipped = report.reasons.map((r) => `${r.backend}: ${r.why}`);
  const head = `backend: ${report.choice} (${report.detail})`;
  return skipped.length === 0 ? head : `${head}; not used: ${skipped.join("; ")}`;
}

/** Frees what the chosen backend holds open (the WebGPU device), so the process can exit. Idempotent. */
export function releaseBackend(): void {
  releaseWebGpu();
}
