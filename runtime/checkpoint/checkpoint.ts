/**
 * Training checkpoints: `<dir>/step-000500/` holding weights.safetensors
 * (variables, buffers, sparse tables), optimizer.safetensors (moments) and
 * state.json. A save writes a hidden temp folder, fsyncs it, renames it into
 * place, then points `<dir>/latest` at it by an atomic rename of a temp file;
 * a crash at any moment leaves the previous checkpoint and pointer intact.
 * Rotation keeps the newest `keep` step folders.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PEERC_VERSION } from "../../ir/version.js";
import type { DataState } from "../data/batches.js";
import { CheckpointError, SpecMismatchError } from "./errors.js";
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from "./safetensors.js";

export const WEIGHTS_FILE = "weights.safetensors";
export const OPTIMIZER_FILE = "optimizer.safetensors";
export const STATE_FILE = "state.json";
export const LATEST_FILE = "latest";
export const STATE_FORMAT = 1;

/** state.json. Everything except the tensors that an exact resume needs. */
export interface CheckpointState {
  readonly format: number;
  readonly specHash: string;
  readonly model: string;
  readonly step: number;
  readonly tokensSeen: number;
  /** Data position and RNG (BatchSampler.state()). */
  readonly data: DataState;
  readonly optimizerStep: number;
  /** Whatever the schedule needs to continue (e.g. { lr, warmupSteps, totalSteps }). */
  readonly schedule: Readonly<Record<string, number | string>>;
  readonly peercVersion: string;
  /** ISO 8601. */
  readonly createdAt: string;
}

export interface CheckpointPayload {
  readonly weights: readonly TensorToWrite[];
  readonly optimizer: readonly TensorToWrite[];
  /** format, peercVersion and createdAt are filled in when omitted. */
  readonly state: Omit<CheckpointState, "format" | "peercVersion" | "createdAt"> & Partial<CheckpointState>;
}

export interface SaveOptions {
  /** Step folders to keep, newest first (default 3, minimum 1). */
  readonly keep?: number;
  /** Test hook: runs after the temp folder is complete and before it is renamed into place. */
  readonly beforeCommit?: (tempDir: string) => void;
}

export interface LoadedCheckpoint {
  /** The step folder. */
  readonly path: string;
  readonly state: CheckpointState;
  readonly weights: SafetensorsFile;
  readonly optimizer: SafetensorsFile;
  close(): void;
}

const STEP_DIR = /^step-(\d+)$/;
export const stepDirName = (step: number): string => `step-${String(step).padStart(6, "0")}`;

function fsyncPath(p: string): void {
  // Directory fsync makes renames durable on Linux; some platforms refuse it, which is harmless.
  try {
    const fd = fs.openSync(p, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* best effort */
  }
}

function writeFileDurably(file: string, text: string): void {
  const fd = fs.openSync(file, "w");
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Step folders in `dir` (complete ones only), oldest first. */
export function listCheckpoints(dir: string): { step: number; path: string }[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, m: STEP_DIR.exec(name) }))
    .filter((e) => e.m !== null && fs.existsSync(path.join(dir, e.name, STATE_FILE)))
    .map((e) => ({ step: Number(e.m![1]), path: path.join(dir, e.name) }))
    .sort((a, b) => a.step - b.step);
}

/** Write a checkpoint for `payload.state.step`; returns its folder. */
export function saveCheckpoint(dir: string, payload: CheckpointPayload, options: SaveOptions = {}): string {
  const keep = Math.max(1, options.keep ?? 3);
  const state: CheckpointState = {
    format: STATE_FORMAT,
    peercVersion: PEERC_VERSION,
    createdAt: new Date().toISOString(),
    ...payload.state,
  };
  const name = stepDirName(state.step);
  fs.mkdirSync(dir, { recursive: true });
  const temp = path.join(dir, `.tmp-${name}-${process.pid}-${Date.now()}`);
  fs.mkdirSync(temp);
  const metadata = { format: "peerc", specHash: state.specHash, step: String(state.step) };
  try {
    writeSafetensors(path.join(temp, WEIGHTS_FILE), payload.weights, metadata);
    writeSafetensors(path.join(temp, OPTIMIZER_FILE), payload.optimizer, metadata);
    writeFileDurably(path.join(temp, STATE_FILE), JSON.stringify(state, null, 2) + "\n");
    fsyncPath(temp);
    options.beforeCommit?.(temp);
  } catch (e) {
    fs.rmSync(temp, { recursive: true, force: true });
    throw e;
  }

  const final = path.join(dir, name);
  if (fs.existsSync(final)) {
    // Re-saving a step (e.g. after a resume): move the old one aside first; rename cannot replace a non-empty folder.
    const aside = path.join(dir, `.old-${name}-${process.pid}-${Date.now()}`);
    fs.renameSync(final, aside);
    fs.renameSync(temp, final);
    fs.rmSync(aside, { recursive: true, force: true });
  } else {
    fs.renameSync(temp, final);
  }
  fsyncPath(dir);

  const pointerTemp = path.join(dir, `.${LATEST_FILE}.tmp-${process.pid}`);
  writeFileDurably(pointerTemp, name + "\n");
  fs.renameSync(pointerTemp, path.join(dir, LATEST_FILE));
  fsyncPath(dir);

  rotate(dir, keep, final);
  return final;
}

/** Delete all but the newest `keep` step folders (never `current`) and leftovers of crashed saves. */
function rotate(dir: string, keep: number, current: string): void {
  const all = listCheckpoints(dir);
  for (const c of all.slice(0, Math.max(0, all.length - keep))) {
    if (c.path !== current) fs.rmSync(c.path, { recursive: true, force: true });
  }
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith(".tmp-step-") || name.startsWith(".old-step-")) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

/**
 * The newest checkpoint folder of a run directory: the one `latest` names if it
 * is complete, else the highest complete step folder; null if there is none.
 */
export function latestCheckpoint(dir: string): string | null {
  try {
    const name = fs.readFileSync(path.join(dir, LATEST_FILE), "utf8").trim();
    if (STEP_DIR.test(name) && fs.existsSync(path.join(dir, name, STATE_FILE))) return path.join(dir, name);
  } catch {
    // no pointer: fall back to scanning
  }
  const all = listCheckpoints(dir);
  return all.length > 0 ? all[all.length - 1].path : null;
}

function readState(stepDir: string): CheckpointState {
  const file = path.join(stepDir, STATE_FILE);
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(file, code === "ENOENT" ? "missing: not a checkpoint folder" : `unreadable (${(e as Error).message})`);
  }
  const s = doc as Partial<CheckpointState> | null;
  const missing = ["specHash", "model", "step", "tokensSeen", "data", "optimizerStep"].filter(
    (k) => s === null || typeof s !== "object" || (s as Record<string, unknown>)[k] === undefined,
  );
  if (missing.length > 0) throw new CheckpointError(file, `incomplete state: missing ${missing.join(", ")}`);
  if (s!.format !== STATE_FORMAT) throw new CheckpointError(file, `state format ${String(s!.format)} is not supported (expected ${STATE_FORMAT})`);
  return s as CheckpointState;
}

const shortHash = (h: string): string => (h.length > 12 ? `${h.slice(0, 12)}…` : h);

/**
 * Open a checkpoint: `dir` is a step folder or a run directory (then its
 * latest checkpoint). Checks the spec hash and both files' structure; tensors
 * are read lazily from `weights` / `optimizer`. Throws CheckpointError.
 */
export function loadCheckpoint(dir: string, expectedHash: string): LoadedCheckpoint {
  let stepDir = dir;
  if (!fs.existsSync(path.join(dir, STATE_FILE))) {
    if (!fs.existsSync(dir)) throw new CheckpointError(dir, "checkpoint folder not found");
    const latest = latestCheckpoint(dir);
    if (latest === null) throw new CheckpointError(dir, "no checkpoint found (no complete step-NNNNNN folder)");
    stepDir = latest;
  }
  const state = readState(stepDir);
  if (state.specHash !== expectedHash) {
    throw new SpecMismatchError(
      stepDir,
      `checkpoint ${stepDir} was written for spec hash ${shortHash(state.specHash)}, this spec is ${shortHash(expectedHash)}`,
    );
  }
  const weights = SafetensorsFile.open(path.join(stepDir, WEIGHTS_FILE));
  let optimizer: SafetensorsFile;
  try {
    optimizer = SafetensorsFile.open(path.join(stepDir, OPTIMIZER_FILE));
  } catch (e) {
    weights.close();
    throw e;
  }
  return {
    path: stepDir,
    state,
    weights,
    optimizer,
    close: () => {
      weights.close();
      optimizer.close();
    },
  };
}

/** A checkpoint that a resume passed over, and where it was moved to. */
export interface SkippedCheckpoint {
  readonly path: string;
  /** Why it cannot be used (CheckpointError.describe()). */
  readonly reason: string;
  /** Its new name (`step-000006.corrupt`): kept for inspection, out of reach of rotation and re-saves. */
  readonly keptAs: string;
}

/**
 * The newest checkpoint of a run directory that verifies: `latest`'s target
 * first, then the step folders newest first. A checkpoint is passed over when
 * it cannot be opened (corrupt state.json, truncated tensors) or when `verify`
 * throws a CheckpointError for it (e.g. a tensor missing); those passed over
 * are renamed `<step folder>.corrupt` once a good one is found, so they stay
 * for inspection and the resumed run cannot overwrite or rotate them away.
 * A checkpoint of another spec stops the search (SpecMismatchError): the run
 * folder belongs to another model. Throws the newest problem when none verifies.
 */
export function openNewestGoodCheckpoint(
  dir: string,
  expectedHash: string,
  verify: (checkpoint: LoadedCheckpoint) => void = () => undefined,
): { checkpoint: LoadedCheckpoint; skipped: SkippedCheckpoint[] } {
  const latest = latestCheckpoint(dir);
  if (latest === null) throw new CheckpointError(dir, "no checkpoint found (no complete step-NNNNNN folder)");
  const candidates = [latest, ...listCheckpoints(dir).map((c) => c.path).reverse().filter((p) => p !== latest)];
  const failed: { path: string; error: CheckpointError }[] = [];
  for (const candidate of candidates) {
    let checkpoint: LoadedCheckpoint | null = null;
    try {
      checkpoint = loadCheckpoint(candidate, expectedHash);
      verify(checkpoint);
    } catch (error) {
      checkpoint?.close();
      if (error instanceof SpecMismatchError || !(error instanceof CheckpointError)) throw error;
      failed.push({ path: candidate, error });
      continue;
    }
    const skipped = failed.map((f) => ({ path: f.path, reason: f.error.describe(), keptAs: moveAside(f.path) }));
    return { checkpoint, skipped };
  }
  const first = failed[0]!.error;
  if (failed.length === 1) throw first;
  throw new CheckpointError(first.path, `${first.message} (and none of the ${failed.length - 1} older checkpoint${failed.length === 2 ? "" : "s"} verifies either)`);
}

function moveAside(stepDir: string): string {
  let target = `${stepDir}.corrupt`;
  for (let n = 2; fs.existsSync(target); n++) target = `${stepDir}.corrupt-${n}`;
  fs.renameSync(stepDir, target);
  return target;
}
