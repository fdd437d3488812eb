/**
 * Spec strings (model name, data path, spec file name) holding quotes,
 * backslashes, newlines, `*\/` and `${` reach emitted code only as escaped
 * literals: the files parse, comments stay comments, and running the emitted
 * modules gives back the exact strings.
 */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { emitTrainer, formatProblems, typecheckEmitted } from "../../compiler/emit/index.js";
import { emitContext } from "../../compiler/emit/context.js";
import { costModel } from "../../compiler/cost/index.js";
import type { IRModel } from "../../ir/types.js";
import { repoModel, tempDir } from "./helpers.js";

const HOSTILE_NAME = 'evil"name\\*/${globalThis.pwned=1}\n// `x` \u2028 */';
const HOSTILE_DATA = 'data/"quoted"\\back*/${globalThis.pwned=2}\nline.txt';
const HOSTILE_SPEC_DIR = 'spec "dir" ${x} \\ * newline\n';

/** A stand-in for peerc/runtime: records what the trainer passes, builds nothing. */
const STUB_RUNTIME = `
export const tf = {};
export const buildModel = () => { throw new Error("stub"); };
export const crossEntropyLoss = () => { throw new Error("stub"); };
export const applyRope = () => { throw new Error("stub"); };
export const causalMask = () => { throw new Error("stub"); };
export const positionIdsFor = () => { throw new Error("stub"); };
export const detach = () => { throw new Error("stub"); };
export const productKeyTopk = () => { throw new Error("stub"); };
export const selectedScoresFromKeys = () => { throw new Error("stub"); };
export const peerExperts = () => { throw new Error("stub"); };
export const pkmValues = () => { throw new Error("stub"); };
export const registerEmittedKernels = () => {};
export const readHost = () => { throw new Error("stub"); };
export class ExpertTable {}
export const QUERY_BN_MOMENTUM = 0.1;
export const QUERY_NORM_EPS = 1e-5;
export async function trainMain(args, target) { globalThis.trainArgs = args; globalThis.trainTarget = target; return 0; }
`;

function hostileModel(): IRModel {
  const base = repoModel("specs/tiny.peer");
  return {
    ...base,
    name: HOSTILE_NAME,
    baseName: HOSTILE_NAME,
    train: base.train && { ...base.train, data: { ...base.train.data, path: HOSTILE_DATA } },
  };
}

describe("hostile spec strings", () => {
  it("cannot inject code or break comments, type-check, and round-trip exactly", async () => {
    const root = tempDir();
    const specDir = path.join(root, HOSTILE_SPEC_DIR);
    fs.mkdirSync(specDir);
    const specFile = path.join(specDir, "x.peer");
    const outDir = path.join(root, "out");
    fs.mkdirSync(outDir);
    const model = hostileModel();
    const ctx = emitContext(model, costModel(model), { specFile, outDir, runtimeImport: "./stub-runtime.js" });
    const files = emitTrainer(ctx);

    for (const [name, text] of files) {
      if (!name.endsWith(".ts") && !name.endsWith(".js")) continue;
      // No raw line break or comment closer from the spec anywhere.
      expect(text).not.toContain("pwned=1}\n");
      expect(text).not.toContain("\u2028");
      for (const line of text.split("\n")) {
        if (line.trimStart().startsWith("//")) expect(line).not.toMatch(/\*\/.*\$\{globalThis/);
      }
    }
    // With the real runtime import, the same output passes tsc --strict.
    const real = emitTrainer(emitContext(model, costModel(model), { specFile, outDir }));
    expect(formatProblems(typecheckEmitted(outDir, real))).toBe("");

    fs.writeFileSync(path.join(outDir, "stub-runtime.js"), STUB_RUNTIME);
    fs.writeFileSync(path.join(outDir, "package.json"), '{ "type": "module" }\n');
    for (const [name, text] of files) fs.writeFileSync(path.join(outDir, name), text);

    const g = globalThis as {
      pwned?: number;
      trainArgs?: string[];
      trainTarget?: { ir: { name: string; train: { data: { path: string } } }; dataBase: string };
    };
    delete g.pwned;
    const emittedModel = (await import(pathToFileURL(path.join(outDir, "model.js")).href)) as {
      MODEL_NAME: string;
      ARCHITECTURE: { name: string; train: { data: { path: string } } };
    };
    expect(emittedModel.MODEL_NAME).toBe(HOSTILE_NAME);
    expect(emittedModel.ARCHITECTURE.name).toBe(HOSTILE_NAME);
    expect(emittedModel.ARCHITECTURE.train.data.path).toBe(HOSTILE_DATA);

    const argv = process.argv;
    process.argv = [argv[0]!, "train.js"];
    try {
      await import(pathToFileURL(path.join(outDir, "train.js")).href);
    } finally {
      process.argv = argv;
    }
    expect(g.pwned).toBeUndefined();
    expect(g.trainTarget?.ir.name).toBe(HOSTILE_NAME);
    // The spec's data file, resolved the runtime's way (against dataBase, the spec's folder), is the spec's own.
    const { ir, dataBase } = g.trainTarget!;
    expect(path.resolve(dataBase, ir.train.data.path)).toBe(path.join(specDir, HOSTILE_DATA));

    const readme = files.get("README.md")!;
    expect(readme).not.toContain("pwned=1}\n");
    expect(readme.split("\n")[0]).toMatch(/^<!-- .* -->$/);
  }, 60_000);
});
