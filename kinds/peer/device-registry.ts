/**
 * The WGSL kernels a compiled trainer brings with it (its kernels.ts, written
 * by `peerc compile`): registered here before the model is built, checked
 * against the model's PEER/PKM layers, and run by the webgpu backend in place
 * of the text the runtime would generate (kinds/peer/device-kernels.ts asks
 * `kernelInUse` for every program). With nothing registered (the generic
 * model) or for a kernel the trainer does not carry (a table sharded at run
 * time below the device's binding limit), the generated kernel runs, as before.
 */
import { UserError } from "../../diagnostics/errors.js";
import type { ModelArchitecture } from "../../ir/types.js";
import { layerKernels, layerKernelSpec, type KernelLayer, type WgslKernel } from "./wgsl.js";

/** One layer's kernels, as an emitted kernels.ts lists them. */
export interface EmittedLayerKernels {
  /** The layer's path in the model ("blocks.1.peer"). */
  readonly path: string;
  readonly kernels: readonly WgslKernel[];
}

/** Emitted kernels that do not fit the model they are registered for: regenerate the trainer. */
export class EmittedKernelError extends UserError {}

const REGENERATE = "regenerate the trainer with peerc compile";

const registered = new Map<string, WgslKernel>();
const requested = new Set<string>();

const keysText = (kernels: readonly WgslKernel[]) => kernels.map((k) => k.key).join(", ");

/** The `const NAME: i32 = V;` lines of a source: the constants its key stands for. */
function constantsOf(source: string): string {
  return [...source.matchAll(/^const [A-Z_]+: i32 = -?\d+;$/gm)].map((m) => m[0]).join(" ");
}

/**
 * Checks that `layers` holds, for every PEER/PKM layer of `architecture` and
 * nothing else, exactly the kernels the runtime would generate for its shape
 * (same keys, inputs and constants), then registers their sources. A kernel key
 * already registered with another source (a second model in the process) is
 * refused rather than silently replaced.
 */
export function registerEmittedKernels(architecture: Pick<ModelArchitecture, "layers">, layers: readonly EmittedLayerKernels[]): void {
  const byPath = new Map<string, KernelLayer>();
  for (const layer of architecture.layers) if (layer.kind === "peer" || layer.kind === "pkm") byPath.set(layer.path, layer);
  const emitted = new Map(layers.map((l) => [l.path, l]));
  for (const path of byPath.keys()) {
    if (!emitted.has(path)) throw new EmittedKernelError(`the trainer's kernels.ts has no kernels for layer ${JSON.stringify(path)}; ${REGENERATE}`);
  }
  const accepted = new Map<string, WgslKernel>();
  for (const { path, kernels } of layers) {
    const layer = byPath.get(path);
    if (layer === undefined) throw new EmittedKernelError(`the trainer's kernels.ts has kernels for ${JSON.stringify(path)}, which is not a PEER or PKM layer of the model; ${REGENERATE}`);
    const expected = layerKernels(layerKernelSpec(layer));
    if (keysText(kernels) !== keysText(expected)) {
      throw new EmittedKernelError(`layer ${JSON.stringify(path)}: the emitted kernels (${keysText(kernels)}) are for another shape than the layer's (${keysText(expected)}); ${REGENERATE}`);
    }
    kernels.forEach((kernel, i) => {
      const want = expected[i]!;
      if (kernel.inputs.join(",") !== want.inputs.join(",")) {
        throw new EmittedKernelError(`layer ${JSON.stringify(path)}: kernel ${kernel.key} binds inputs (${kernel.inputs.join(", ")}), the runtime passes (${want.inputs.join(", ")}); ${REGENERATE}`);
      }
      if (constantsOf(kernel.source) !== constantsOf(want.source)) {
        throw new EmittedKernelError(`layer ${JSON.stringify(path)}: kernel ${kernel.key} declares the constants ${constantsOf(kernel.source)}, its key stands for ${constantsOf(want.source)}; ${REGENERATE}`);
      }
      const sibling = accepted.get(kernel.key);
      if (sibling !== undefined && sibling.source !== kernel.source) {
        throw new EmittedKernelError(`kernel ${kernel.key} comes with two different sources (layer ${JSON.stringify(path)} and an earlier one); ${REGENERATE}`);
      }
      const earlier = registered.get(kernel.key);
      if (earlier !== undefined && earlier.source !== kernel.source) {
        throw new EmittedKernelError(`kernel ${kernel.key} is already registered with another source (a second trainer's kernels in this process); ${REGENERATE}`);
      }
      accepted.set(kernel.key, kernel);
    });
  }
  for (const kernel of accepted.values()) registered.set(kernel.key, kernel);
}

/** Forgets every registered kernel and the requests seen (tests; a process that builds another model). */
export function clearEmittedKernels(): void {
  registered.clear();
  requested.clear();
}

/**
 * The kernel the device runs for the generated `kernel`: the registered
 * (emitted) one under the same key, else `kernel` itself. An emitted source
 * that differs from the generated text gets its own shader key, so tfjs's
 * pipeline cache never hands one's compiled shader to the other.
 */
export function kernelInUse(kernel: WgslKernel): WgslKernel {
  requested.add(kernel.key);
  const emitted = registered.get(kernel.key);
  if (emitted === undefined || emitted.source === kernel.source) return kernel;
  return { key: `${kernel.key}_emitted`, inputs: kernel.inputs, source: emitted.source };
}

/** Whether a kernel with this key is registered (from an emitted kernels.ts). */
export function isEmittedKernel(key: string): boolean {
  return registered.has(key);
}

/** Keys of the kernels the device asked for since the last clear (tests: layerKernels lists all a layer runs). */
export function requestedKernelKeys(): readonly string[] {
  return [...requested].sort();
}
