/**
 * How the CLI reads specs: from the file system relative to the working folder,
 * or from a git revision (`main:specs/x.peer`) for `peerc diff`.
 */
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import type { FileHost } from "../check/index.js";
import { decodeUtf8, diskHost } from "../check/host.js";

export function fsHost(cwd: string): FileHost {
  return diskHost(cwd);
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
  const invalid = new Map<string, number>();
  const relative = (file: string) => path.relative(root, path.resolve(cwd, file)).split(path.sep).join("/");
  return {
    readFile(file: string): string | undefined {
      const rel = relative(file);
      if (rel.startsWith("..")) return undefined;
      try {
        const bytes = execFileSync("git", ["show", `${rev}:${rel}`], {
          cwd: root,
          stdio: ["ignore", "pipe", "ignore"],
          maxBuffer: 64 * 1024 * 1024,
        });
        const { text, invalidAt } = decodeUtf8(bytes);
        if (invalidAt === undefined) invalid.delete(file);
        else invalid.set(file, invalidAt);
        return text;
      } catch {
        return undefined;
      }
    },
    identity: (file) => `${rev}:${path.posix.normalize(relative(file))}`,
    invalidUtf8: (file) => invalid.get(file),
  };
}
