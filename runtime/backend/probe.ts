/**
 * Probing optional backends without crashing: tfjs-node(-gpu) are optional
 * dependencies whose import either fails (not installed) or throws while
 * loading libtensorflow / CUDA / cuDNN. Both become a one-line reason. And
 * the WebGPU adapter, probed in a child process so that Dawn's native output
 * and crashes stay out of a run that will not use it.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

export type ProbeResult = { readonly ok: true; readonly module: unknown } | { readonly ok: false; readonly why: string };

/** The first shared library named in a native loader message, e.g. "libcudart.so.11.0". */
export function missingLibrary(message: string): string | null {
  const match = /(lib[A-Za-z0-9_+-]+\.so(?:\.[0-9]+)*)/.exec(message);
  return match ? match[1]! : null;
}

/** True when the package itself is absent (a missing dependency *of* it is a broken install instead). */
function isNotInstalled(error: unknown, specifier: string): boolean {
  const code = (error as { code?: string } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && message.includes(`'${specifier}'`);
}

/** Explains a load failure of an installed native package in one line. */
export function explainLoadError(specifier: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const library = missingLibrary(message);
  if (library) return `installed, but ${library} could not be loaded (${firstLine(message)})`;
  if (/tfjs_binding\.node/.test(message)) return `installed, but its native addon is missing: run \`npm rebuild ${specifier}\` (npm 11 blocks install scripts: see docs/gpu.md)`;
  return `installed, but failed to load: ${firstLine(message)}`;
}

function firstLine(text: string): string {
  const line = text.split("\n")[0] ?? "";
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

const provided = new Map<string, unknown>();

/**
 * Supplies an optional package without a node_modules folder: a bundled
 * program (bench/gpu-entry.ts for the GPU machine) hands over the modules its
 * bundler resolved, and probeModule returns them instead of importing.
 */
export function provideModule(specifier: string, module: unknown): void {
  provided.set(specifier, module);
}

/** Imports an optional package; never throws. */
export async function probeModule(specifier: string): Promise<ProbeResult> {
  if (provided.has(specifier)) return { ok: true, module: provided.get(specifier) };
  try {
    // A variable specifier: the optional packages are not installed at type-check time.
    const module: unknown = await import(specifier);
    return { ok: true, module };
  } catch (error) {
    if (isNotInstalled(error, specifier)) return { ok: false, why: `not installed (npm install ${specifier})` };
    return { ok: false, why: explainLoadError(specifier, error) };
  }
}

/**
 * What a child process found when it asked Dawn for an adapter: its
 * description (vendor, architecture, limits), none, or why it failed.
 */
export type ChildAdapterProbe =
  | { readonly ok: true; readonly adapter: ProbedAdapter | null }
  | { readonly ok: false; readonly why: string };

export interface ProbedAdapter {
  readonly info: { vendor?: string; architecture?: string; description?: string; device?: string };
  readonly isFallbackAdapter: boolean;
  readonly limits: { maxStorageBufferBindingSize?: number; maxBufferSize?: number };
}

/**
 * Asks for the adapter tfjs would get and prints one JSON line: what the
 * adapter says about itself (null for none), or the stage that failed.
 */
const ADAPTER_PROBE_SCRIPT = `
const answer = (value) => { process.stdout.write(JSON.stringify(value) + "\\n"); process.exit(0); };
const fail = (stage) => (error) => answer({ stage, error: String(error && error.message || error) });
const dawn = await import(process.env.PEERC_WEBGPU_MODULE).catch(fail("import"));
let gpu;
try { gpu = dawn.create([]); } catch (error) { fail("create")(error); }
const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" }).catch(fail("requestAdapter"));
const i = adapter?.info ?? {};
answer({
  adapter: adapter && {
    info: { vendor: i.vendor, architecture: i.architecture, description: i.description, device: i.device },
    isFallbackAdapter: adapter.isFallbackAdapter === true,
    limits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
  },
});
`;

/** The child's failure, worded as the in-process probe (webgpu.ts) words it. */
function stageFailure(stage: string, error: string): string {
  if (stage === "import") return explainLoadError("webgpu", new Error(error));
  if (stage === "create") return `dawn.node failed to start: ${firstLine(error)}`;
  return `requestAdapter failed: ${firstLine(error)}`;
}

/** Dawn's notes on stderr while it sizes a Vulkan adapter's limits (lavapipe prints two): not problems. */
const DAWN_NOISE = /^Warning: maxDynamic\w+ artificially reduced from \d+ to \d+/;

/**
 * Probes the WebGPU adapter in a short child process, so that Dawn's native
 * start-up lines on stderr (e.g. `Warning: maxDynamicUniformBuffersPerPipelineLayout
 * artificially reduced …` on lavapipe) and a crash inside the driver stay
 * there: `--backend auto` loads Dawn into the trainer only when it will use
 * the adapter. null when this cannot be done here (the `webgpu` package is not
 * installed, or a bundle provides it in-process without a file to import):
 * then the caller probes in-process. `environment` is read only when a probe
 * runs (the caller sets Dawn's XDG_RUNTIME_DIR there).
 */
export function probeAdapterInChild(
  environment: () => NodeJS.ProcessEnv,
  options: { readonly timeoutMs?: number; /** Tests: another module in place of `webgpu` (a file URL). */ readonly module?: string } = {},
): ChildAdapterProbe | null {
  if (provided.has("webgpu") && options.module === undefined) return null;
  const timeoutMs = options.timeoutMs ?? 60_000;
  let module: string;
  try {
    module = options.module ?? pathToFileURL(createRequire(import.meta.url).resolve("webgpu")).href;
  } catch {
    return null;
  }
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", ADAPTER_PROBE_SCRIPT], {
    env: { ...environment(), PEERC_WEBGPU_MODULE: module },
    encoding: "utf8",
    timeout: timeoutMs,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.error && (child.error as NodeJS.ErrnoException).code === "ETIMEDOUT") {
    return { ok: false, why: `the WebGPU adapter probe did not answer within ${Math.round(timeoutMs / 1000)} s` };
  }
  const answer = child.stdout?.split("\n").find((line) => line.startsWith("{"));
  // An answer counts even when the exit went wrong afterwards (Dawn's threads at exit).
  if (answer !== undefined) {
    try {
      const parsed = JSON.parse(answer) as { adapter: ProbedAdapter | null } | { stage: string; error: string };
      return "stage" in parsed ? { ok: false, why: stageFailure(parsed.stage, parsed.error) } : { ok: true, adapter: parsed.adapter };
    } catch {
      // Falls through to the failure below.
    }
  }
  const problem = (child.stderr ?? "").split("\n").map((l) => l.trim()).find((l) => l.length > 0 && !DAWN_NOISE.test(l));
  const how = child.signal ? `was killed by ${child.signal}` : `exited with code ${child.status ?? "unknown"}`;
  return { ok: false, why: `the WebGPU adapter probe ${how}${problem ? `: ${firstLine(problem)}` : ""}` };
}
