/**
 * Writing emitted files: only inside the requested folder, whatever the names.
 * Each name is checked against the resolved folder (no "..", no absolute paths,
 * no separators smuggled in), an existing symlink at a target is replaced
 * rather than followed, and each file is written to a temporary name and
 * renamed so a crash never leaves half a file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError } from "../../diagnostics/errors.js";

export interface OutputFile {
  /** A plain file name inside the output folder (no folders). */
  readonly name: string;
  readonly text: string;
}

/** A refused output path: the compile command reports it as a usage error. */
export class UnsafeOutputError extends UsageError {}

/** The absolute target of `name` in `dir`, or an error when it would land anywhere else. */
export function resolveInside(dir: string, name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.includes("..")) {
    throw new UnsafeOutputError(`refusing to write a file named ${JSON.stringify(name)}: not a plain file name`);
  }
  const root = path.resolve(dir);
  const target = path.resolve(root, name);
  const rel = path.relative(root, target);
  if (rel !== name || path.isAbsolute(rel)) {
    throw new UnsafeOutputError(`refusing to write ${JSON.stringify(name)} outside ${root}`);
  }
  return target;
}

/** Writes every file into `dir` (created if missing); returns the absolute paths written, in order. */
export function writeOutputs(dir: string, files: readonly OutputFile[]): string[] {
  const root = path.resolve(dir);
  const targets = files.map((f) => resolveInside(root, f.name));
  fs.mkdirSync(root, { recursive: true });
  if (!fs.statSync(root).isDirectory()) throw new UnsafeOutputError(`${root} is not a folder`);
  files.forEach((file, i) => {
    const target = targets[i]!;
    const existing = lstatOrNull(target);
    if (existing?.isDirectory()) throw new UnsafeOutputError(`${target} is a folder; remove it or pick another output folder`);
    // A symlink planted at the target would redirect the write: drop the link itself.
    if (existing?.isSymbolicLink()) fs.unlinkSync(target);
    const temp = path.join(root, `.${file.name}.${process.pid}.tmp`);
    if (lstatOrNull(temp)) fs.unlinkSync(temp);
    // "wx" refuses to follow anything created at the temporary name in between.
    fs.writeFileSync(temp, file.text, { flag: "wx" });
    fs.renameSync(temp, target);
  });
  return targets;
}

function lstatOrNull(file: string): fs.Stats | null {
  try {
    return fs.lstatSync(file);
  } catch {
    return null;
  }
}
