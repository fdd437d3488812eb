/**
 * `--export DIR`: the trained model for use outside peerc (docs/weights.md).
 *
 *   DIR/weights.safetensors   every parameter, float32, row-major: dense
 *                             variables, buffers (BatchNorm running statistics)
 *                             and the expert tables (PEER u/v, PKM values) —
 *                             not their optimizer state
 *   DIR/architecture.json     the model without source locations, keys in
 *                             snake_case like every file peerc writes for
 *                             users (report.json, metrics.jsonl)
 *
 * Tensors are written one by one (the tables straight from their live arrays,
 * no copy), so a table larger than a Node Buffer still exports. Each file is
 * written to a temporary name and renamed, so an interrupted export never
 * leaves a half-written file under the final name.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { snakeCaseKeys } from "../../ir/architecture-json.js";
import type { ModelArchitecture } from "../../ir/types.js";
import { writeSafetensors, type TensorToWrite } from "../checkpoint/index.js";
import type { LanguageModel } from "../model/model.js";
import { modelWeights } from "./state.js";

export const EXPORT_WEIGHTS_FILE = "weights.safetensors";
export const EXPORT_ARCHITECTURE_FILE = "architecture.json";

/** Keys that locate spec text: left out of architecture.json (a generic caller may pass a full IRModel). */
const SOURCE_KEYS = new Set(["span", "argSpans", "metricSpan", "limitSpan", "file"]);

/** Every parameter of `model` by its export name: dense weights, buffers, then each expert table's weights. */
export function exportTensors(model: LanguageModel): TensorToWrite[] {
  const tables = model.sparseTables.map((table): TensorToWrite => {
    // state() lists the table under its own name, then its optimizer state; only the weights are exported.
    const weights = table.state().find((s) => s.name === table.name);
    if (!weights) throw new Error(`internal error: sparse table ${table.name} lists no weights in state()`);
    return { name: table.name, shape: [table.rows, table.cols], data: weights.data };
  });
  return [...modelWeights(model), ...tables];
}

export interface ExportResult {
  readonly weightsFile: string;
  readonly architectureFile: string;
  readonly tensors: number;
  readonly values: number;
}

export function exportModel(dir: string, model: LanguageModel, architecture: ModelArchitecture): ExportResult {
  fs.mkdirSync(dir, { recursive: true });
  const tensors = exportTensors(model);
  const weightsFile = path.join(dir, EXPORT_WEIGHTS_FILE);
  const architectureFile = path.join(dir, EXPORT_ARCHITECTURE_FILE);
  writeAtomically(weightsFile, (tmp) => writeSafetensors(tmp, tensors, { model: architecture.name, specHash: architecture.hash }));
  writeAtomically(architectureFile, (tmp) => fs.writeFileSync(tmp, architectureJson(architecture)));
  const values = tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  return { weightsFile, architectureFile, tensors: tensors.length, values };
}

/** `dModel` → `d_model`: the spelling of the spec's own settings and of report.json. */
/** architecture.json's text: the architecture without source locations, every key in snake_case. */
export function architectureJson(architecture: ModelArchitecture): string {
  return JSON.stringify(snakeCaseKeys(architecture, SOURCE_KEYS), null, 2) + "\n";
}

function writeAtomically(file: string, write: (tmp: string) => void): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    write(tmp);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
