/**
 * Emitted code imports the runtime as `peerc/runtime`. Inside a project that
 * has peerc installed (or inside peerc's own repo, by package self-reference)
 * that resolves by itself; anywhere else the output folder gets
 * `node_modules/peerc`, a symlink to this peerc, so `node DIR/train.js` works
 * with no install step. The link is inside the output folder, like every
 * other file peerc writes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createRequire } from "node:module";
import { peercRoot } from "./package-root.js";

export type RuntimeLink =
  | { kind: "resolves"; packageRoot: string; linkedTfjs: boolean }
  | { kind: "linked"; link: string; linkedTfjs: boolean }
  | { kind: "other-peerc"; packageRoot: string; linkedTfjs: boolean };

/** The folder of package `name` as resolved from `dir`, or null. */
function resolvedPackage(dir: string, name: string): string | null {
  try {
    const require = createRequire(path.join(path.resolve(dir), "__peerc_probe__.js"));
    return path.dirname(fs.realpathSync(require.resolve(`${name}/package.json`)));
  } catch {
    return null;
  }
}

/** Makes `link` a symlink to `target`, replacing only a symlink that was there. */
function linkPackage(link: string, target: string): void {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  const existing = fs.lstatSync(link, { throwIfNoEntry: false });
  // A stale link is ours to replace; a real folder there is someone else's: leave it and say so.
  if (existing?.isSymbolicLink()) fs.unlinkSync(link);
  else if (existing) throw new Error(`${link} exists but does not resolve; remove it or install peerc in the project`);
  fs.symlinkSync(target, link, "dir");
}

/**
 * Emitted model.ts imports @tensorflow/tfjs itself (one tfjs instance: the
 * one peerc uses). Where it does not resolve from the trainer folder, link
 * peerc's own copy.
 */
function ensureTfjsResolves(dir: string, root: string): boolean {
  if (resolvedPackage(dir, "@tensorflow/tfjs") !== null) return false;
  const tfjs = resolvedPackage(root, "@tensorflow/tfjs");
  if (tfjs === null) throw new Error(`peerc at ${root} cannot resolve @tensorflow/tfjs; reinstall peerc`);
  linkPackage(path.join(path.resolve(dir), "node_modules", "@tensorflow", "tfjs"), tfjs);
  return true;
}

/** The peerc package that `peerc/...` resolves to from `dir`, or null. */
export function resolvedPeerc(dir: string): string | null {
  return resolvedPackage(dir, "peerc");
}

/** Makes `peerc/runtime` (and @tensorflow/tfjs) resolvable from `dir`, which must exist. */
export function ensureRuntimeResolves(dir: string): RuntimeLink {
  const root = fs.realpathSync(peercRoot());
  const found = resolvedPeerc(dir);
  if (found !== null) {
    const linkedTfjs = ensureTfjsResolves(dir, found);
    return found === root ? { kind: "resolves", packageRoot: found, linkedTfjs } : { kind: "other-peerc", packageRoot: found, linkedTfjs };
  }
  const link = path.join(path.resolve(dir), "node_modules", "peerc");
  linkPackage(link, root);
  return { kind: "linked", link, linkedTfjs: ensureTfjsResolves(dir, root) };
}

/**
 * The emitted .js files are ES modules. Inside a `"type": "module"` package they
 * are already; anywhere else the folder gets a two-line package.json saying so.
 * Returns whether it wrote one.
 */
export function ensureEsmScope(dir: string): boolean {
  const root = path.resolve(dir);
  for (let d = root; ; ) {
    const pkg = path.join(d, "package.json");
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, "utf8")) as { type?: string }).type === "module") return false;
      } catch {
        // unreadable: treat as CommonJS, like node does not
      }
      break;
    }
    const parent = path.dirname(d);
    if (parent === d) break;
    d = parent;
  }
  if (fs.existsSync(path.join(root, "package.json"))) return false;
  fs.writeFileSync(path.join(root, "package.json"), JSON.stringify({ private: true, type: "module" }, null, 2) + "\n");
  return true;
}
