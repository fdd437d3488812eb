/** peerc's version: part of the compile cache key and of every checkpoint's state. */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

function readVersion(): string {
  // dist/compiler/version.js and compiler/version.ts sit two and one folders below package.json.
  for (const candidate of ["../../package.json", "../package.json"]) {
    try {
      const pkg = require(candidate) as { name?: string; version?: string };
      if (pkg.name === "peerc" && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return "0.0.0";
}

export const PEERC_VERSION: string = readVersion();
