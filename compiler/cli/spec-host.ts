/**
 * How the CLI reads specs: from the file system relative to the working folder,
 * or from a git revision (`main:specs/x.peer`) for `peerc diff`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import type { FileHost } from "../check/index.js";

export function fsHost(cwd: string): FileHost {
  return {
    readFile(file: string): string | undefined {
      const full = path.resolve(cwd, file);
      try {
        if (!fs.statSync(full).isFile()) return undefined;
        return fs.readFileSync(full, "utf8");
      } catch {
        return undefined;
      }
    },
  };
}

/** `REV:path` → { rev, path }, or null for a plain path. A Windows drive letter is not a revision. */
export function parseRevPath(arg: string): { rev: string; path: string } | null {
  const colon = arg.indexOf(":");
  if (colon <= 0) return null;
  const rev = arg.slice(0, colon);
  if (/^[A-Za-z]$/.test(rev)) return null;
  return { rev, path: arg.slice(colon + 1) };
}

/** Reads files as they were at `rev`; imports resolve inside the same revision. */
export function gitHost(cwd: string, rev: string): FileHost {
  const root = execFileSync("git", ["rev-parse", "--show-toplevel"], { cwd, encoding: "utf8" }).trim();
  return {
    readFile(file: string): string | undefined {
      const rel = path.relative(root, path.resolve(cwd, file)).split(path.sep).join("/");
      if (rel.startsWith("..")) return undefined;
      try {
        return execFileSync("git", ["show", `${rev}:${rel}`], {
          cwd: root,
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"],
          maxBuffer: 64 * 1024 * 1024,
        });
      } catch {
        return undefined;
      }
    },
  };
}
