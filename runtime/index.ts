/**
 * The public runtime API (package export "peerc/runtime"): what emitted trainers
 * and tools import. A list of re-exports only.
 */
export { selectBackend, describeBackend, BackendError, BACKEND_REQUESTS, type BackendRequest, type BackendReport } from "./backend/select.js";
export { registerRuntimeKernels, runtimePatches } from "./backend/kernels/index.js";
export { missingLibrary, probeModule } from "./backend/probe.js";

export type { NamedVariable, SparseTable, SparseStepConfig, RoutingRecord, ForwardContext, RuntimeLayer } from "./layers/layer.js";
export { detach, activate, linear, rmsNorm, layerNorm, allFinite } from "./layers/ops.js";
export { createEmbedLayer, type EmbedRuntime } from "../kinds/embed/runtime.js";
export { createPositionsLayer, positionIdsFor } from "../kinds/positions/runtime.js";
export { createAttentionLayer, createAttentionWeights, attend, applyRope, causalMask, DEFAULT_ATTENTION_PATH, type AttentionPath, type AttentionWeights } from "../kinds/attention/runtime.js";
export { createNormLayer } from "../kinds/norm/runtime.js";
export { createFfwLayer, createFfwWeights, applyFfw, ffwVariables, type FfwWeights } from "../kinds/ffw/runtime.js";
export { createMoeLayer, combineExperts, routeTokenChoice, loadBalancingLoss, tokenChoiceCapacity, expertChoiceCapacity, type MoeRouting, type MoeRuntime } from "../kinds/moe/runtime.js";
export { createLmHeadLayer } from "../kinds/lm_head/runtime.js";

export { RUNTIME_KINDS, runtimeKindOf, runtimeLayerWeights } from "../kinds/runtime.js";
export { createDenseWeights, type KindRuntime, type KindBuildEnv, type DenseWeights } from "./layers/kind.js";
export { weightName, weightSize, type WeightSpec, type WeightManifest, type WeightInit, type WeightRole } from "../kinds/manifest.js";

export { ExpertTable } from "./experts/sparse-table.js";
export { BN_MOMENTUM as QUERY_BN_MOMENTUM, NORM_EPS as QUERY_NORM_EPS } from "./experts/query-net.js";
export { productKeyTopk, type ProductKeyHits } from "./experts/product-keys.js";
export { selectedScoresFromKeys, type KeyGeometry } from "./experts/selected-scores.js";
export { peerExperts, pkmValues } from "./experts/expert-kernels.js";
export { readHost } from "./experts/host-tensor.js";
export { registerEmittedKernels, EmittedKernelError, type EmittedLayerKernels } from "../kinds/peer/device-registry.js";
export type { WgslKernel } from "../kinds/peer/wgsl.js";

export { buildModel, crossEntropyLoss, type LanguageModel, type ForwardMode, type ForwardResult, type LossResult, type BuildOptions } from "./model/model.js";
export { emittedModel, weightTree, ropeTables, rotary, kvHeadIndex, productKeySearch, queryBatchNorm, queryLayerNorm, type RopeTables, type WeightLeaf } from "./model/emitted.js";
export { createLayer, registerLayerFactory, hasLayerFactory } from "./model/factories.js";
export { createBuildContext, normalArray, streamSeed, INIT_STD, normal, zeros, ones, type LayerBuildContext, type InitKind } from "./model/init.js";

export { Trainer, type BatchSource, type TrainBatch, type TrainerConfig, type StepStats } from "./train/trainer.js";
export { AdamW, type AdamWConfig } from "./train/adamw.js";
export { learningRate, warmupSteps } from "./train/schedule.js";
export { globalGradNorm, clipFactor, scaleGradients } from "./train/clip.js";
export { TrainingDivergedError } from "./train/errors.js";
export { modelWeights, tableStates, optimizerMoments, restoreModel, restoreOptimizer, type NamedArray } from "./train/state.js";
export { exportModel, exportTensors, EXPORT_WEIGHTS_FILE, EXPORT_ARCHITECTURE_FILE, type ExportResult } from "./train/export.js";
export { trainMain, parseTrainArgs, trainHelp, type TrainTarget, type TrainIO, type TrainOptions } from "./train/main.js";
export { estimateRunMemory, preflightMemory, type DenseMemoryFigures, type RunShape } from "./train/preflight.js";
export { UserError, UsageError } from "../diagnostics/errors.js";
