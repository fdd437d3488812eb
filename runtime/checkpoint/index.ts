/**
 * runtime/checkpoint — safetensors I/O and atomic, rotated checkpoints.
 *
 *   saveCheckpoint(runDir, { weights, optimizer, state }, { keep: 3 }): string   // → runDir/step-000500
 *     weights/optimizer: TensorToWrite[] = { name, shape, data: Float32Array|Int32Array|…, dtype? }
 *     (a SparseTable's state() entries fit as they are)
 *   latestCheckpoint(runDir): string | null
 *   openNewestGoodCheckpoint(runDir, specHash, verify?) → { checkpoint, skipped }   // falls back past corrupt ones
 *   loadCheckpoint(runDirOrStepDir, specHash): LoadedCheckpoint
 *     → { path, state: CheckpointState, weights: SafetensorsFile, optimizer: SafetensorsFile, close() }
 *     read tensors with file.read(name) or file.readInto(name, existingArray); close() when done.
 * Every problem is a CheckpointError(path, message); print `err.describe()`.
 */
export { CheckpointError, SpecMismatchError } from "./errors.js";
export {
  SafetensorsFile, writeSafetensors, inferDtype, DTYPE_BYTES,
  type Dtype, type TensorData, type TensorInfo, type TensorToWrite,
} from "./safetensors.js";
export {
  saveCheckpoint, loadCheckpoint, latestCheckpoint, openNewestGoodCheckpoint, listCheckpoints, stepDirName,
  WEIGHTS_FILE, OPTIMIZER_FILE, STATE_FILE, LATEST_FILE,
  type CheckpointState, type CheckpointPayload, type SaveOptions, type LoadedCheckpoint, type SkippedCheckpoint,
} from "./checkpoint.js";
