/**
 * tfjs's `webgpu` backend on Dawn in Node (the `webgpu` npm package ships
 * dawn.node; both it and @tensorflow/tfjs-backend-webgpu are optional
 * dependencies). Facts this file relies on (../shared/webgpu.md, docs/gpu.md):
 * - the backend registers itself at import time only if `navigator.gpu` exists,
 *   so the shim goes in first; Dawn wants XDG_RUNTIME_DIR (mode 700);
 * - a binding larger than maxStorageBufferBindingSize is not rejected by tfjs:
 *   Dawn reports it as an `uncapturederror` and the op returns stale values.
 *   Every such event is recorded with the layer that was running and turns
 *   into a DeviceError at the next scope exit or host read, never a silent
 *   wrong value;
 * - `dataSync()` cannot work in Node (tfjs reads through OffscreenCanvas):
 *   only `await tensor.data()` reads from the device.
 * A software adapter (Mesa lavapipe, SwiftShader) is used only when asked for
 * by name (`--backend webgpu`), never by `auto`.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { UserError } from "../../diagnostics/errors.js";
import { probeModule } from "./probe.js";

/** The device reported an error (validation, out of memory, lost): the run stops. */
export class DeviceError extends UserError {}

export interface AdapterFacts {
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
  /** True for a CPU implementation (lavapipe/llvmpipe, SwiftShader). */
  readonly software: boolean;
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
}

export type WebGpuAttempt = { readonly ok: true; readonly adapter: AdapterFacts } | { readonly ok: false; readonly why: string };

/** Minimal structural types: @webgpu/types is not a dependency of peerc's type-check. */
interface GpuErrorEvent {
  readonly error: { readonly message: string };
}
interface GpuDeviceLike {
  readonly limits: Record<string, number>;
  readonly lost: Promise<{ readonly message: string; readonly reason?: string }>;
  addEventListener(type: "uncapturederror", listener: (event: GpuErrorEvent) => void): void;
  createBuffer(descriptor: { size: number; usage: number }): { destroy(): void };
  destroy(): void;
}
interface GpuAdapterLike {
  readonly info?: { vendor?: string; architecture?: string; description?: string; device?: string };
  readonly features: { has(name: string): boolean };
  readonly limits: Record<string, number>;
  readonly isFallbackAdapter?: boolean;
  requestDevice(descriptor: unknown): Promise<GpuDeviceLike>;
}
interface GpuLike {
  requestAdapter(options?: unknown): Promise<GpuAdapterLike | null>;
}
interface WebGpuModule {
  create(options: string[]): GpuLike;
  globals: Record<string, unknown>;
}
interface TfWebGpuModule {
  WebGPUBackend: new (device: GpuDeviceLike, adapterInfo?: unknown) => tf.KernelBackend;
}

interface DeviceState {
  device: GpuDeviceLike;
  adapter: AdapterFacts;
  /** The layer whose ops are being encoded now ("" outside every scope). */
  scope: string;
  /** The last layer scope entered, for errors raised between scopes. */
  lastScope: string;
  errors: { message: string; scope: string }[];
  released: boolean;
  destroyed: boolean;
}

let state: DeviceState | null = null;
let shimInstalled = false;

/** A device is open and tfjs's current backend is webgpu. */
function active(): boolean {
  return state !== null && !state.released && tf.getBackend() === "webgpu";
}

/** A software rasteriser/compute device rather than a GPU. */
export function isSoftwareAdapter(info: { vendor?: string; architecture?: string; description?: string; device?: string }, fallback = false): boolean {
  if (fallback) return true;
  const text = `${info.vendor ?? ""} ${info.architecture ?? ""} ${info.description ?? ""} ${info.device ?? ""}`;
  return info.architecture === "software" || /llvmpipe|lavapipe|swiftshader|software/i.test(text);
}

/** Dawn warns without a private runtime directory: make one (mode 700) when unset. */
export function ensureRuntimeDir(): string {
  const current = process.env.XDG_RUNTIME_DIR;
  if (current && fs.existsSync(current)) return current;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-xdg-"));
  fs.chmodSync(dir, 0o700);
  process.env.XDG_RUNTIME_DIR = dir;
  return dir;
}

function installNavigatorGpu(gpu: GpuLike, globals: Record<string, unknown>): void {
  const g = globalThis as Record<string, unknown>;
  for (const [key, value] of Object.entries(globals)) if (!(key in g)) g[key] = value;
  if (g.navigator === undefined) g.navigator = {};
  // Node ≥ 21 has a navigator object without `gpu`: define the property on it.
  Object.defineProperty(g.navigator as object, "gpu", { value: gpu, configurable: true, enumerable: true, writable: true });
  shimInstalled = true;
}

function removeNavigatorGpu(): void {
  if (!shimInstalled) return;
  const nav = (globalThis as Record<string, unknown>).navigator as Record<string, unknown> | undefined;
  if (nav) delete nav.gpu;
  shimInstalled = false;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Why there is no adapter, in one line. */
export const NO_ADAPTER =
  "no WebGPU adapter: Dawn found no usable Vulkan driver (an NVIDIA/AMD/Intel driver, or Mesa ≥ 25 lavapipe from bookworm-backports for a CPU test device; docs/gpu.md)";

/** What an adapter (Dawn's, or one described by the child-process probe in probe.ts) says about itself. */
export interface AdapterDescription {
  readonly info?: { vendor?: string; architecture?: string; description?: string; device?: string };
  readonly limits: Readonly<Record<string, number | undefined>>;
  readonly isFallbackAdapter?: boolean;
}

export function adapterFacts(adapter: AdapterDescription): AdapterFacts {
  const info = adapter.info ?? {};
  return {
    vendor: info.vendor || "unknown vendor",
    architecture: info.architecture || "unknown architecture",
    description: info.description || info.device || "no description",
    software: isSoftwareAdapter(info, adapter.isFallbackAdapter === true),
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize ?? 0,
    maxBufferSize: adapter.limits.maxBufferSize ?? 0,
  };
}

/**
 * Finds an adapter, opens a device, registers tfjs's `webgpu` backend on it and
 * makes it current. `allowSoftware`: accept lavapipe & co (only when the user
 * asked for webgpu by name). Never throws: failure is a one-line reason.
 */
export async function initWebGpu(options: { readonly allowSoftware: boolean }): Promise<WebGpuAttempt> {
  if (state !== null && !state.released) {
    if (!options.allowSoftware && state.adapter.software) return { ok: false, why: softwareReason(state.adapter) };
    if (!(await tf.setBackend("webgpu"))) return { ok: false, why: "the webgpu backend failed to initialise" };
    return { ok: true, adapter: state.adapter };
  }
  const dawn = await probeModule("webgpu");
  if (!dawn.ok) return { ok: false, why: dawn.why };
  ensureRuntimeDir();
  const { create, globals } = dawn.module as WebGpuModule;
  let gpu: GpuLike;
  try {
    gpu = create([]);
  } catch (error) {
    return { ok: false, why: `dawn.node failed to start: ${message(error)}` };
  }
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (error) {
    return { ok: false, why: `requestAdapter failed: ${message(error)}` };
  }
  if (adapter === null) return { ok: false, why: NO_ADAPTER };
  const info = adapter.info ?? {};
  const facts = adapterFacts(adapter);
  if (facts.software && !options.allowSoftware) return { ok: false, why: softwareReason(facts) };

  // Only now import the backend: it registers itself when navigator.gpu exists.
  installNavigatorGpu(gpu, globals);
  const backendModule = await probeModule("@tensorflow/tfjs-backend-webgpu");
  if (!backendModule.ok) {
    removeNavigatorGpu();
    return { ok: false, why: backendModule.why };
  }
  // The same limits tfjs's own factory asks for (tfjs-backend-webgpu 4.22 base.ts).
  const limits = adapter.limits;
  const requiredFeatures = adapter.features.has("timestamp-query") ? ["timestamp-query"] : [];
  let device: GpuDeviceLike;
  try {
    device = await adapter.requestDevice({
      requiredFeatures,
      requiredLimits: {
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        // More than the default 8 bindings per shader (fused expert kernels, AddN chunks).
        maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
      },
    });
  } catch (error) {
    removeNavigatorGpu();
    return { ok: false, why: `requestDevice failed: ${message(error)}` };
  }
  const s: DeviceState = { device, adapter: facts, scope: "", lastScope: "", errors: [], released: false, destroyed: false };
  state = s;
  // A device still open when Node exits can abort the exit inside Dawn's/llvmpipe's threads
  // ("The futex facility returned an unexpected error code"): destroy it first.
  process.once("exit", () => abandon(s));
  // Dawn dispatches validation errors synchronously while the offending op is encoded
  // (measured: test/webgpu/backend.test.ts), so `scope` names the layer that issued it.
  device.addEventListener("uncapturederror", (event) => {
    s.errors.push({ message: event.error.message, scope: s.scope || (s.lastScope ? `after ${s.lastScope}` : "outside any layer") });
  });
  void device.lost.then((info) => {
    if (!s.released) s.errors.push({ message: `device lost: ${info.message}`, scope: s.scope || s.lastScope || "outside any layer" });
  });
  const { WebGPUBackend } = backendModule.module as TfWebGpuModule;
  // Not tf.findBackend: it would start tfjs's own (async) factory.
  if (tf.findBackendFactory("webgpu") !== null) tf.removeBackend("webgpu");
  tf.registerBackend("webgpu", () => new WebGPUBackend(device, info), 3);
  let ok = false;
  try {
    ok = await tf.setBackend("webgpu");
  } catch (error) {
    abandon(s);
    return { ok: false, why: `the webgpu backend failed to initialise: ${message(error)}` };
  }
  if (!ok) {
    abandon(s);
    return { ok: false, why: "the webgpu backend failed to initialise" };
  }
  guardReads(tf.backend());
  return { ok: true, adapter: facts };
}

/** Drops a device whose backend failed to start. */
function abandon(s: DeviceState): void {
  if (s.destroyed) return;
  s.destroyed = true;
  s.released = true;
  if (tf.findBackendFactory("webgpu") !== null) tf.removeBackend("webgpu");
  try {
    s.device.destroy();
  } catch {
    // Already lost.
  }
  removeNavigatorGpu();
}

export function softwareReason(a: AdapterFacts): string {
  return `only a software adapter (${a.description}, ${a.vendor}/${a.architecture}); it is used only when asked for by name: --backend webgpu`;
}

/** Every host read on the device first surfaces a pending device error. */
function guardReads(backend: tf.KernelBackend): void {
  const b = backend as unknown as { read(id: object): Promise<unknown>; __peercGuarded?: boolean };
  if (b.__peercGuarded) return;
  const read = b.read.bind(backend);
  b.read = async (id: object) => {
    throwIfDeviceError();
    const values = await read(id);
    throwIfDeviceError();
    return values;
  };
  b.__peercGuarded = true;
}

/** Facts of the open adapter, or null when webgpu is not in use. */
export function webGpuAdapter(): AdapterFacts | null {
  return active() ? state!.adapter : null;
}

/** The device's limits (tfjs backend.device.limits), or null. */
export function webGpuLimits(): { maxStorageBufferBindingSize: number; maxBufferSize: number } | null {
  if (!active()) return null;
  const l = state!.device.limits;
  return { maxStorageBufferBindingSize: l.maxStorageBufferBindingSize ?? 0, maxBufferSize: l.maxBufferSize ?? 0 };
}

/** Throws a DeviceError for the first recorded device error (and forgets them). */
export function throwIfDeviceError(): void {
  if (state === null || state.errors.length === 0) return;
  const errors = state.errors.splice(0);
  const first = errors[0]!;
  const text = first.message.split("\n")[0]!.trim();
  const more = errors.length > 1 ? ` (${errors.length - 1} more error${errors.length > 2 ? "s" : ""} followed)` : "";
  throw new DeviceError(
    `the webgpu device reported an error in layer ${first.scope}: ${text}${more}; the run stopped rather than continue with wrong values`,
    null,
    /binding size/i.test(text) ? "a tensor exceeds the device's maxStorageBufferBindingSize: this is a bug in peerc's sharding (docs/gpu.md)" : "see docs/gpu.md",
  );
}

/** Runs `fn` labelled as layer `path`: device errors raised inside it name the layer and throw on exit. */
export function inDeviceScope<T>(path: string, fn: () => T): T {
  if (state === null || !active()) return fn();
  throwIfDeviceError();
  const outer = state.scope;
  state.scope = path;
  state.lastScope = path;
  try {
    return fn();
  } finally {
    state.scope = outer;
    throwIfDeviceError();
  }
}

/** Labels the backward ops of a layer: identity on x whose gradient sets the scope label. */
export function labelBackward<T extends tf.Tensor>(x: T, label: string): T {
  if (state === null || !active()) return x;
  const s = state;
  const body = (input: tf.Tensor) => ({
    value: tf.clone(input),
    gradFunc: (dy: tf.Tensor) => {
      s.scope = label;
      s.lastScope = label;
      return dy;
    },
  });
  const mark = tf.customGrad(body as unknown as Parameters<typeof tf.customGrad>[0]);
  return mark(x) as T;
}

/** Test hook: issues an invalid device call inside the current scope (a buffer both MAP_READ and STORAGE). */
export function injectDeviceError(): void {
  if (state === null || !active()) throw new Error("injectDeviceError: webgpu is not in use");
  const usage = (globalThis as unknown as { GPUBufferUsage: Record<string, number> }).GPUBufferUsage;
  state.device.createBuffer({ size: 4, usage: usage.MAP_READ! | usage.STORAGE! });
}

/**
 * Ends the webgpu session as far as the process is concerned: navigator.gpu is
 * removed, after which Dawn lets Node exit (../shared/webgpu.md). The device
 * and the tfjs backend stay: tensors that outlive a run (module caches, a test
 * running several trainers in one process) stay readable, and a later
 * initWebGpu reuses them. Idempotent.
 */
export function releaseWebGpu(): void {
  removeNavigatorGpu();
}

/** Backends whose tensors live on an accelerator: PEER/PKM use their device implementation there. */
export function isDeviceBackend(name: string): boolean {
  return name === "webgpu" || name === "tensorflow";
}

/** Storage-binding limit of the current backend (bytes), or Infinity where tfjs has none. */
export function storageBindingLimit(): number {
  return webGpuLimits()?.maxStorageBufferBindingSize ?? Number.POSITIVE_INFINITY;
}

export function describeAdapter(a: AdapterFacts): string {
  const mib = (n: number) => `${Math.floor(n / 2 ** 20).toLocaleString("en-US")} MiB`;
  return `${a.description}; vendor ${a.vendor}, architecture ${a.architecture}${a.software && a.architecture !== "software" ? " (software)" : ""}; maxStorageBufferBindingSize ${mib(a.maxStorageBufferBindingSize)}, maxBufferSize ${mib(a.maxBufferSize)}`;
}

/** True when host reads must be awaited (webgpu in Node: tfjs's dataSync needs OffscreenCanvas). */
export function asyncReads(): boolean {
  return tf.getBackend() === "webgpu";
}

/**
 * Makes `tensors` readable synchronously: on webgpu each is read once with
 * `await data()` (tfjs then keeps the host copy, so dataSync returns it);
 * elsewhere nothing to do. For checkpoints and exports, never inside a step.
 */
export async function readableOnHost(tensors: readonly tf.Tensor[]): Promise<void> {
  if (!asyncReads()) return;
  for (const t of tensors) if (!t.isDisposed) await t.data();
}

/**
 * Destroys the device and unregisters the backend (tests and benchmarks, at
 * their very end): a process that dies with a device open can abort inside
 * Dawn's threads. Tensors still on the device become unreadable.
 */
export function shutdownWebGpu(): void {
  if (state !== null && !state.released) abandon(state);
  removeNavigatorGpu();
}
