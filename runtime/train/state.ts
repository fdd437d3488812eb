/**
 * The tensors of a training run as named host arrays, for checkpoints and
 * export: model weights ("<layer path>.<part>"), BatchNorm buffers, sparse
 * tables (their own state() names), and the AdamW moments
 * ("<name>.adam_m" / "<name>.adam_v").
 */
import * as tf from "@tensorflow/tfjs";
import type { LanguageModel } from "../model/model.js";
import type { AdamW } from "./adamw.js";

export interface NamedArray {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

function read(name: string, t: tf.Tensor): NamedArray {
  return { name, shape: t.shape, data: t.dataSync() as Float32Array };
}

/** Dense weights and buffers: what an exported model needs. */
export function modelWeights(model: LanguageModel): NamedArray[] {
  return [
    ...model.variables.map((v) => read(v.name, v.variable)),
    ...model.buffers().map((b) => read(b.name, b.tensor)),
  ];
}

/** Sparse tables (values and their optimizer state, as the tables name them). */
export function tableStates(model: LanguageModel): NamedArray[] {
  return model.sparseTables.flatMap((t) => t.state().map((s) => ({ name: s.name, shape: s.shape, data: s.data })));
}

export function optimizerMoments(optimizer: AdamW): NamedArray[] {
  return optimizer.state().map((s) => read(s.name, s.tensor));
}

/** Looks up arrays by name; a missing or mis-shaped one is an error naming it. */
export type ArrayReader = (name: string, shape: readonly number[]) => Float32Array;

function assign(variable: tf.Variable, data: Float32Array): void {
  tf.tidy(() => variable.assign(tf.tensor(data, variable.shape, "float32")));
}

export function restoreModel(model: LanguageModel, readWeights: ArrayReader, readTable: (name: string) => Float32Array): void {
  for (const v of model.variables) assign(v.variable, readWeights(v.name, v.variable.shape));
  for (const b of model.buffers()) assign(b.tensor, readWeights(b.name, b.tensor.shape));
  for (const table of model.sparseTables) for (const s of table.state()) table.loadState(s.name, readTable(s.name));
}

export function restoreOptimizer(optimizer: AdamW, read: ArrayReader, step: number): void {
  for (const s of optimizer.state()) assign(s.tensor, read(s.name, s.tensor.shape));
  optimizer.step = step;
}
