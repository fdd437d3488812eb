import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { memoryIO } from "../../compiler/cli/io.js";
import { compileCommand } from "../../compiler/cli/commands/compile.js";
import { trainCommand } from "../../compiler/cli/commands/train.js";
import { UsageError } from "../../diagnostics/errors.js";
import { KERNEL_FILES, TRAINER_FILES } from "../../compiler/emit/index.js";
import { GENERATED_MARK } from "../../compiler/emit/header.js";
import { PEERC_VERSION } from "../../ir/version.js";
import { ROOT, tempDir } from "./helpers.js";

const TINY = fs.readFileSync(path.join(ROOT, "specs/tiny.peer"), "utf8");

/** A project folder outside the repo holding specs/tiny.peer. */
function project(): { dir: string; spec: string } {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, "specs"));
  fs.writeFileSync(path.join(dir, "specs", "tiny.peer"), TINY);
  return { dir, spec: path.join(dir, "specs", "tiny.peer") };
}

function readAll(dir: string): Map<string, string> {
  return new Map(TRAINER_FILES.map((n) => [n, fs.readFileSync(path.join(dir, n), "utf8")]));
}

describe("peerc compile", () => {
  it("writes the trainer files with a header, no absolute paths, and a runtime link outside the repo", async () => {
    const { dir } = project();
    const io = memoryIO({ cwd: dir });
    const code = await compileCommand(io, "specs/tiny.peer", { outDir: "out/tiny", typecheck: false });
    expect(io.stderrText).not.toContain("error");
    expect(code).toBe(0);
    const out = path.join(dir, "out/tiny");
    // tiny.peer has a PEER layer: its WGSL kernels come along.
    expect(fs.readdirSync(out).sort()).toEqual([...TRAINER_FILES, ...KERNEL_FILES, "node_modules", "package.json"].sort());
    const files = readAll(out);
    for (const [name, text] of files) {
      expect(text, name).not.toContain(dir);
      expect(text, name).not.toContain(ROOT);
    }
    expect(files.get("model.ts")!.split("\n")[0]).toBe(`// ${GENERATED_MARK}.`);
    expect(files.get("model.ts")).toContain('// spec:  "../../specs/tiny.peer"');
    expect(files.get("model.js")).toContain(GENERATED_MARK);
    // The folder resolves peerc/runtime through a link to this peerc, and runs as ESM.
    expect(fs.realpathSync(path.join(out, "node_modules", "peerc"))).toBe(fs.realpathSync(ROOT));
    expect(fs.realpathSync(path.join(out, "node_modules", "@tensorflow", "tfjs"))).toBe(fs.realpathSync(path.join(ROOT, "node_modules", "@tensorflow", "tfjs")));
    expect(JSON.parse(fs.readFileSync(path.join(out, "package.json"), "utf8")).type).toBe("module");
    expect(io.stderrText).toContain("node_modules/peerc");
    expect(JSON.parse(files.get("report.json")!)).toBeTypeOf("object");
  });

  it("is deterministic: same spec, same bytes, whatever the working folder", async () => {
    const { dir, spec } = project();
    await compileCommand(memoryIO({ cwd: dir }), "specs/tiny.peer", { outDir: "a/tiny", typecheck: false });
    await compileCommand(memoryIO({ cwd: path.join(dir, "specs") }), spec, { outDir: path.join(dir, "b/tiny"), typecheck: false });
    expect(readAll(path.join(dir, "b/tiny"))).toEqual(readAll(path.join(dir, "a/tiny")));
  });

  it("reports spec errors (exit 1) and unknown models (usage error)", async () => {
    const { dir } = project();
    fs.writeFileSync(path.join(dir, "bad.peer"), "model m {\n  vocab\n}\n");
    const io = memoryIO({ cwd: dir });
    expect(await compileCommand(io, "bad.peer", { outDir: "out", typecheck: false })).toBe(1);
    expect(fs.existsSync(path.join(dir, "out"))).toBe(false);
    await expect(compileCommand(memoryIO({ cwd: dir }), "specs/tiny.peer", { model: "nope", outDir: "out", typecheck: false })).rejects.toThrow(
      UsageError,
    );
  });

  it("refuses an output path that is a file, as a usage error", async () => {
    const { dir } = project();
    fs.writeFileSync(path.join(dir, "taken"), "x");
    await expect(compileCommand(memoryIO({ cwd: dir }), "specs/tiny.peer", { outDir: "taken", typecheck: false })).rejects.toThrow(UsageError);
    expect(fs.readFileSync(path.join(dir, "taken"), "utf8")).toBe("x");
  });
});

describe("peerc train", () => {
  it("compiles into the cache once, reuses it, and passes flags and the exit code through", async () => {
    const { dir } = project();
    const cache = path.join(dir, "cache");
    const calls: { script: string; args: readonly string[] }[] = [];
    const runner = async (script: string, args: readonly string[]) => {
      calls.push({ script, args });
      return 3;
    };
    const io1 = memoryIO({ cwd: dir, env: { PEERC_CACHE: cache } });
    const code = await trainCommand(io1, "specs/tiny.peer", { trainerArgs: ["--steps", "5"] }, runner);
    expect(io1.stderrText).toContain("compiled tiny into");
    expect(code).toBe(3);
    const entries = fs.readdirSync(cache);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(new RegExp(`^tiny-[0-9a-f]{12}-${PEERC_VERSION.replace(/\./g, "\\.")}$`));
    expect(calls[0]!.script).toBe(path.join(cache, entries[0]!, "train.js"));
    expect(calls[0]!.args).toEqual(["--steps", "5"]);

    const io2 = memoryIO({ cwd: dir, env: { PEERC_CACHE: cache } });
    expect(await trainCommand(io2, "specs/tiny.peer", { trainerArgs: [] }, runner)).toBe(3);
    expect(io2.stderrText).toContain("using cached trainer");

    // A tampered cache entry is not reused.
    fs.appendFileSync(path.join(cache, entries[0]!, "model.js"), "\n// edited\n");
    fs.writeFileSync(path.join(cache, entries[0]!, ".peerc-stamp"), "stale\n");
    const io3 = memoryIO({ cwd: dir, env: { PEERC_CACHE: cache } });
    await trainCommand(io3, "specs/tiny.peer", { trainerArgs: [] }, runner);
    expect(io3.stderrText).toContain("compiled tiny into");
    expect(fs.readFileSync(path.join(cache, entries[0]!, "model.js"), "utf8")).not.toContain("// edited");
  });
});
