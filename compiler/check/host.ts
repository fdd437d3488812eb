/** How the checker reads spec files: the real file system, or a test's map. */
import * as fs from "node:fs";
import * as path from "node:path";

export interface FileHost {
  /** Contents of a file, or undefined when it cannot be read. Paths are as resolved by the checker (relative to the working folder unless absolute). */
  readFile(path: string): string | undefined;
  /**
   * The file's identity: two paths with the same identity are one file, read
   * and checked once (`a.peer`, `./a.peer`, `/abs/a.peer`, a symlink to it).
   * Without it the normalised path is the identity.
   */
  identity?(path: string): string;
  /**
   * Where the last `readFile` of this path met bytes that are not UTF-8: the
   * offset in the returned text (of the U+FFFD standing in for them), or
   * undefined when the file is valid UTF-8.
   */
  invalidUtf8?(path: string): number | undefined;
}

/** Decodes UTF-8 strictly: the text (invalid bytes as U+FFFD, for display) and the offset of the first invalid one. */
export function decodeUtf8(bytes: Uint8Array): { text: string; invalidAt: number | undefined } {
  try {
    return { text: new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes), invalidAt: undefined };
  } catch {
    // Decode the valid prefix strictly to find where the first bad byte lands in the text.
    let lo = 0;
    let hi = bytes.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      try {
        new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(0, mid), { stream: true });
        lo = mid;
      } catch {
        hi = mid - 1;
      }
    }
    const prefix = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes.subarray(0, lo), { stream: true });
    return { text: new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes), invalidAt: prefix.length };
  }
}

/** The real-path identity of a file on disk (its resolved path when it does not exist). */
export function realIdentity(full: string): string {
  try {
    return fs.realpathSync.native(full);
  } catch {
    return path.resolve(full);
  }
}

/** A host over the file system, paths relative to `cwd`; remembers invalid UTF-8 per path. */
export function diskHost(cwd: string): FileHost {
  const invalid = new Map<string, number>();
  return {
    readFile(file: string): string | undefined {
      const full = path.resolve(cwd, file);
      try {
        if (!fs.statSync(full).isFile()) return undefined;
        const { text, invalidAt } = decodeUtf8(fs.readFileSync(full));
        if (invalidAt === undefined) invalid.delete(file);
        else invalid.set(file, invalidAt);
        return text;
      } catch {
        return undefined;
      }
    },
    identity: (file) => realIdentity(path.resolve(cwd, file)),
    invalidUtf8: (file) => invalid.get(file),
  };
}

/** The file system, relative to the process's working folder at the time of each call. */
export const nodeFileHost: FileHost = diskHost("");
