/**
 * The trainer cache of `peerc train`: `.peerc-cache/<model>-<hash12>-<version>/`
 * in the spec's project (the nearest folder above the spec with a
 * package.json or .git, else the spec's folder), or under $PEERC_CACHE.
 * A stamp file holds the digest of the emitted files, so a cache entry is
 * reused only when it holds exactly what this peerc would emit now.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { IRModel } from "../../ir/types.js";
import { safeFileName } from "./names.js";

export const STAMP_FILE = ".peerc-stamp";

export function projectRoot(specFile: string): string {
  const specDir = path.dirname(path.resolve(specFile));
  for (let dir = specDir; ; ) {
    if (fs.existsSync(path.join(dir, "package.json")) || fs.existsSync(path.join(dir, ".git"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return specDir;
    dir = parent;
  }
}

export function cacheDir(specFile: string, model: IRModel, version: string, env: Readonly<Record<string, string | undefined>>): string {
  const base = env.PEERC_CACHE ? path.resolve(env.PEERC_CACHE) : path.join(projectRoot(specFile), ".peerc-cache");
  const safeVersion = version.replace(/[^0-9A-Za-z.+-]/g, "-").replace(/^\.+/, "") || "0";
  return path.join(base, `${safeFileName(model.name)}-${model.hash.slice(0, 12)}-${safeVersion}`);
}

/** Digest of a set of emitted files, independent of map order. */
export function filesDigest(files: ReadonlyMap<string, string>): string {
  const hash = crypto.createHash("sha256");
  for (const name of [...files.keys()].sort()) {
    hash.update(name).update("\0").update(files.get(name)!).update("\0");
  }
  return hash.digest("hex");
}

/** True when `dir` already holds exactly `files` (checked by stamp and presence). */
export function cacheIsCurrent(dir: string, files: ReadonlyMap<string, string>): boolean {
  try {
    const stamp = fs.readFileSync(path.join(dir, STAMP_FILE), "utf8").trim();
    if (stamp !== filesDigest(files)) return false;
    return [...files.keys()].every((name) => fs.existsSync(path.join(dir, name)));
  } catch {
    return false;
  }
}
