/** Everything an emitter may read: the model, its cost, and where things are relative to the output folder. */
import * as path from "node:path";
import type { IRModel } from "../../ir/types.js";
import type { ModelCost } from "../cost/types.js";
import type { HeaderInfo } from "./header.js";
import type { HeadLayouts } from "./layer-types.js";

export interface EmitContext {
  readonly model: IRModel;
  readonly cost: ModelCost;
  readonly header: HeaderInfo;
  /**
   * The spec's data file relative to the output folder ("/" separators), as
   * the trainer's default --data; null = the runtime's built-in corpus.
   */
  readonly dataPath: string | null;
  /** The spec's folder relative to the output folder ("/" separators): the spec's data path is relative to it. */
  readonly specDir: string;
  /** Module specifier of the runtime: "peerc/runtime" (tests point it at the sources). */
  readonly runtimeImport: string;
  /** Product-key score layout (bench/emitted-vs-generic.ts --heads); unset = the measured default. */
  readonly headLayout?: HeadLayouts;
}

export interface ContextOptions {
  /** The spec file (absolute or relative to the working folder). */
  readonly specFile: string;
  /** The output folder (absolute or relative to the working folder). */
  readonly outDir: string;
  readonly runtimeImport?: string;
  readonly headLayout?: HeadLayouts;
}

function posixRelative(from: string, to: string): string {
  const rel = path.relative(from, to).split(path.sep).join("/");
  return rel === "" ? "." : rel;
}

export function emitContext(model: IRModel, cost: ModelCost, options: ContextOptions): EmitContext {
  const outDir = path.resolve(options.outDir);
  const spec = path.resolve(options.specFile);
  const data = model.train?.data.path ?? null;
  return {
    model,
    cost,
    header: { spec: posixRelative(outDir, spec), model: model.name, hash: model.hash },
    // Spec data paths are relative to the spec's folder; the trainer resolves them next to itself.
    dataPath: data === null ? null : path.isAbsolute(data) ? data : posixRelative(outDir, path.resolve(path.dirname(spec), data)),
    specDir: posixRelative(outDir, path.dirname(spec)),
    runtimeImport: options.runtimeImport ?? "peerc/runtime",
    ...(options.headLayout ? { headLayout: options.headLayout } : {}),
  };
}
