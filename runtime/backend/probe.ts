/**
 * Probing optional backends without crashing: tfjs-node(-gpu) are optional
 * dependencies whose import either fails (not installed) or throws while
 * loading libtensorflow / CUDA / cuDNN. Both become a one-line reason.
 */

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
