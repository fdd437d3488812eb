/** How the checker reads spec files: the real file system, or a test's map. */
import * as fs from "node:fs";

export interface FileHost {
  /** Contents of a file, or undefined when it cannot be read. Paths are as resolved by the checker (relative to the working folder unless absolute). */
  readFile(path: string): string | undefined;
}

export const nodeFileHost: FileHost = {
  readFile(path: string): string | undefined {
    try {
      if (!fs.statSync(path).isFile()) return undefined;
      return fs.readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  },
};
