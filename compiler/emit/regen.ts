/**
 * `npx tsx compiler/emit/regen.ts [--check]`: rewrites generated/ from specs/.
 * With --check, changes nothing and exits 1 when generated/ is out of date.
 * Folders under generated/ that no spec produces any more are removed (only
 * those that carry peerc's "do not edit" header).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { planGenerated } from "./generated.js";
import { GENERATED_MARK } from "./header.js";
import { writeOutputs } from "./write.js";
import { peercRoot } from "./package-root.js";

function isOurs(folder: string): boolean {
  try {
    return fs.readFileSync(path.join(folder, "model.ts"), "utf8").includes(GENERATED_MARK);
  } catch {
    return false;
  }
}

function isGeneratedFile(file: string): boolean {
  try {
    return fs.lstatSync(file).isFile() && fs.readFileSync(file, "utf8").includes(GENERATED_MARK);
  } catch {
    return false;
  }
}

export function regen(root: string, check: boolean, log: (line: string) => void): number {
  const plan = planGenerated(root);
  const base = path.join(root, "generated");
  let stale = 0;
  for (const [folder, files] of plan.folders) {
    const dir = path.join(base, folder);
    const changed = [...files].filter(([name, text]) => {
      try {
        return fs.readFileSync(path.join(dir, name), "utf8") !== text;
      } catch {
        return true;
      }
    });
    // A file peerc wrote there before that it no longer emits (kernels.ts of a model that lost its PEER layers).
    const leftover = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => !files.has(n) && isGeneratedFile(path.join(dir, n))) : [];
    for (const name of leftover) {
      stale++;
      log(`${check ? "no longer produced" : "removed"}: generated/${folder}/${name}`);
      if (!check) fs.rmSync(path.join(dir, name));
    }
    if (changed.length === 0) continue;
    stale += changed.length;
    log(`${check ? "out of date" : "wrote"}: ${changed.map(([n]) => `generated/${folder}/${n}`).join(", ")}`);
    if (!check) writeOutputs(dir, changed.map(([name, text]) => ({ name, text })));
  }
  if (fs.existsSync(base)) {
    for (const entry of fs.readdirSync(base, { withFileTypes: true })) {
      const dir = path.join(base, entry.name);
      if (!entry.isDirectory() || plan.folders.has(entry.name) || !isOurs(dir)) continue;
      stale++;
      log(`${check ? "no longer produced" : "removed"}: generated/${entry.name}`);
      if (!check) fs.rmSync(dir, { recursive: true });
    }
  }
  for (const spec of plan.failed) log(`skipped (does not check): ${spec}`);
  if (stale === 0) log(`generated/ is up to date (${plan.folders.size} trainers)`);
  return check && stale > 0 ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = regen(peercRoot(), process.argv.includes("--check"), (line) => console.log(line));
}
