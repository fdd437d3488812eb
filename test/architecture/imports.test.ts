/**
 * The house rules of the source tree, read from the imports of every file:
 * contracts (diagnostics/, ir/) at the bottom, nothing imports upward, and no
 * import cycles. A failure names the file, the import and the rule it breaks.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SOURCE_FOLDERS = ["diagnostics", "ir", "grammar", "kinds", "compiler", "runtime", "targets"];

/**
 * Floors, lowest first. A file may import its own floor and the floors listed
 * in `may`; the first floor whose pattern matches a path is the file's floor.
 */
interface Floor {
  readonly name: string;
  readonly match: RegExp;
  readonly may: readonly string[];
}
const FLOORS: readonly Floor[] = [
  { name: "diagnostics", match: /^diagnostics\//, may: [] },
  { name: "ir", match: /^ir\//, may: ["diagnostics"] },
  // A layer kind's contract: its weight manifest, read by both sides.
  // (and its WGSL kernel generators, kinds/<kind>/wgsl.ts and wgsl-<part>.ts: pure text, emitted by the compiler, built at run time).
  { name: "kind-contract", match: /^kinds\/[^/]+\/(weights|wgsl(-[a-z]+)?)\.ts$|^kinds\/manifest\.ts$/, may: ["diagnostics", "ir"] },
  { name: "grammar", match: /^grammar\//, may: ["diagnostics", "ir"] },
  // A kind's host and device implementations, and the runtime's registry of them.
  { name: "kind-runtime", match: /^kinds\/[^/]+\/(runtime|device)[^/]*\.ts$|^kinds\/runtime\.ts$/, may: ["diagnostics", "ir", "kind-contract", "runtime"] },
  { name: "runtime", match: /^runtime\//, may: ["diagnostics", "ir", "kind-contract", "kind-runtime"] },
  // Everything else of a kind (check, cost, emitters) belongs to the compiler.
  { name: "kind-compiler", match: /^kinds\//, may: ["diagnostics", "ir", "kind-contract", "grammar", "compiler"] },
  { name: "cli", match: /^compiler\/cli\//, may: ["diagnostics", "ir", "kind-contract", "grammar", "compiler", "kind-compiler", "targets"] },
  { name: "compiler", match: /^compiler\/|^targets\//, may: ["diagnostics", "ir", "kind-contract", "grammar", "kind-compiler"] },
];

function floorOf(file: string): Floor {
  const floor = FLOORS.find((f) => f.match.test(file));
  if (!floor) throw new Error(`no floor for ${file}`);
  return floor;
}

function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(rel);
    }
  };
  for (const folder of SOURCE_FOLDERS) if (fs.existsSync(path.join(ROOT, folder))) walk(folder);
  return out.sort();
}

/** Relative imports of a file (static, dynamic and re-exports), resolved to repo paths. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const found = new Set<string>();
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm;
  for (const match of text.matchAll(pattern)) {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), match[1]!)).replace(/\.js$/, ".ts");
    found.add(target);
  }
  return [...found];
}

const files = sourceFiles();
const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => t.endsWith(".ts") && files.includes(t))]));

describe("the source tree's import rules", () => {
  it("finds the source files and their imports", () => {
    expect(files).toContain("ir/types.ts");
    expect(files).toContain("diagnostics/diagnostic.ts");
    expect(graph.get("diagnostics/render.ts")).toContain("diagnostics/snippet.ts");
  });

  it("never imports upward", () => {
    const broken: string[] = [];
    for (const [file, targets] of graph) {
      const from = floorOf(file);
      for (const target of targets) {
        const to = floorOf(target);
        if (to.name !== from.name && !from.may.includes(to.name)) {
          broken.push(`${file} (${from.name}) imports ${target} (${to.name})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it("keeps the emitter away from the CLI and the runtime away from the compiler", () => {
    const broken: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        if (file.startsWith("compiler/emit/") && target.startsWith("compiler/cli/")) broken.push(`${file} imports ${target}`);
        if (file.startsWith("runtime/") && (target.startsWith("compiler/") || target.startsWith("grammar/"))) broken.push(`${file} imports ${target}`);
        if (file.startsWith("grammar/") && target.startsWith("compiler/")) broken.push(`${file} imports ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("has no import cycles", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("detects a cycle and an upward import in a made-up graph", () => {
    const g = new Map([["a.ts", ["b.ts"]], ["b.ts", ["c.ts"]], ["c.ts", ["a.ts"]], ["d.ts", ["a.ts"]]]);
    expect(cycles(g)).toEqual([["a.ts", "b.ts", "c.ts"]]);
    expect(floorOf("runtime/train/main.ts").may).not.toContain("compiler");
    expect(floorOf("kinds/peer/runtime.ts").name).toBe("kind-runtime");
    expect(floorOf("kinds/peer/weights.ts").name).toBe("kind-contract");
    expect(floorOf("kinds/peer/cost.ts").name).toBe("kind-compiler");
  });
});

/** Strongly connected components with more than one file (Tarjan), each sorted; self-imports count too. */
function cycles(g: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (g.get(v) ?? []).includes(v)) out.push(component.sort());
    }
  };
  for (const v of [...g.keys()].sort()) if (!index.has(v)) visit(v);
  return out.sort((a, b) => a[0]!.localeCompare(b[0]!));
}
