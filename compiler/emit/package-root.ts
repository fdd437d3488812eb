/** Where the peerc package lives (repo checkout or node_modules/peerc), found from this module's own location. */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | null = null;

export function peercRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
      try {
        const parsed = JSON.parse(fs.readFileSync(pkg, "utf8")) as { name?: string };
        if (parsed.name === "peerc") return (cached = dir);
      } catch {
        // not a readable package.json: keep walking up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("cannot find the peerc package root above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/**
 * The runtime's type entry: the TypeScript sources in a checkout (so a stale
 * dist/ cannot mask a change), else the published declarations.
 */
export function runtimeTypesEntry(root = peercRoot()): string {
  const source = path.join(root, "runtime", "index.ts");
  if (fs.existsSync(source)) return source;
  return path.join(root, "dist", "runtime", "index.d.ts");
}
