/**
 * Whether these tests can run here: a WebGPU adapter through Dawn (the optional
 * `webgpu` package) on any Vulkan driver, lavapipe included. The reason goes
 * into the skipped tests' names, so the summary counts them as skipped.
 */
import { ensureRuntimeDir } from "../../runtime/backend/webgpu.js";

async function probe(): Promise<string | null> {
  let mod: { create(options: string[]): { requestAdapter(): Promise<unknown> } };
  try {
    mod = (await import("webgpu" as string)) as typeof mod;
  } catch {
    return "the optional package webgpu is not installed";
  }
  ensureRuntimeDir();
  try {
    const adapter = await mod.create([]).requestAdapter();
    return adapter ? null : "no WebGPU adapter (install Mesa 25 lavapipe from bookworm-backports: docs/gpu.md)";
  } catch (error) {
    return `requestAdapter failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** null when an adapter exists; otherwise why not. */
export const noAdapter: string | null = await probe();
/** Suffix for test names: empty when runnable, "(skipped: why)" otherwise. */
export const skipNote = noAdapter === null ? "" : ` (skipped: ${noAdapter})`;
