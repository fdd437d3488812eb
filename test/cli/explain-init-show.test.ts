/** `peerc explain`, `peerc init` and `peerc show`, driven in-process. */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runCli } from "../../compiler/cli/main.js";
import { memoryIO } from "../../compiler/cli/io.js";
import { CATALOG } from "../../diagnostics/codes/index.js";
import { EXAMPLES } from "../../diagnostics/codes/examples.js";
import { generateExamples, TABLE } from "../fixtures/gen-examples.js";
import { checkFiles } from "../../compiler/check/index.js";
import { diskHost } from "../../compiler/check/host.js";
import { costModel } from "../../compiler/cost/index.js";
import { evaluateBudgets } from "../../compiler/budget/evaluate.js";

const repo = path.resolve(import.meta.dirname, "../..");

async function run(args: string[], cwd = repo) {
  const io = memoryIO({ cwd });
  const code = await runCli(args, io);
  return { code, out: io.stdoutText, err: io.stderrText };
}

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "peerc-eis-"));

describe("peerc explain", () => {
  it("the examples table is up to date with test/fixtures/bad (regenerate: npx tsx test/fixtures/gen-examples.ts)", () => {
    expect(fs.readFileSync(path.join(repo, TABLE), "utf8")).toBe(generateExamples(repo));
  });

  it("every catalog code with a golden fixture has an example and every example is a catalog code", () => {
    const codes = new Set(CATALOG.map((e) => e.code));
    for (const code of Object.keys(EXAMPLES)) expect(codes.has(code), code).toBe(true);
    const fixtures = fs.readdirSync(path.join(repo, "test/fixtures/bad")).filter((f) => f.endsWith(".peer")).map((f) => f.slice(0, 5));
    for (const code of new Set(fixtures)) expect(EXAMPLES[code], code).toBeDefined();
  });

  it("examples are specs as a user writes them: no test-harness `// expect:` line, in the text or the json", async () => {
    for (const code of Object.keys(EXAMPLES)) {
      const text = await run(["explain", code]);
      expect(text.out, code).not.toMatch(/\/\/ expect:/);
      const json = JSON.parse((await run(["explain", code, "--format", "json"])).out);
      expect(json.example.source, code).not.toMatch(/\/\/ expect:/);
    }
  });

  it("an example's files, saved in a folder, make peerc print exactly the message explain shows (same lines and columns)", async () => {
    for (const [code, example] of Object.entries(EXAMPLES)) {
      // E0007's spec is not UTF-8: its text holds U+FFFD where the byte was, and saving it would make it valid.
      if (example.source.includes("\uFFFD")) continue;
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, example.name), example.source);
      for (const lib of example.libs) {
        fs.mkdirSync(path.dirname(path.join(dir, lib.file)), { recursive: true });
        fs.writeFileSync(path.join(dir, lib.file), lib.source);
      }
      const io = memoryIO({ cwd: dir });
      const exit = await runCli([...example.command.split(" "), example.name], io);
      expect(exit, code).toBe(code.startsWith("W") ? 0 : 1);
      expect(io.stderrText.startsWith(example.output), `${code}:\n${io.stderrText}`).toBe(true);
    }
  });

  it("E0102: the explanation names the example and its lib file as the message does, with the message's line in the shown spec", async () => {
    const r = await run(["explain", "E0102"]);
    expect(r.out).toContain("A spec that fails with it, E0102-name-in-two-files.peer:");
    expect(r.out).toContain("which imports lib/widths.peer:");
    expect(r.out).toContain("`peerc check E0102-name-in-two-files.peer` prints:");
    const at = /--> E0102-name-in-two-files\.peer:(\d+):5/.exec(r.out);
    expect(at).not.toBeNull();
    expect(EXAMPLES.E0102!.source.split("\n")[Number(at![1]) - 1]).toBe("let width = 64");
    expect((await run(["explain", "E0601"])).out).toContain("`peerc report --budget E0601-over-budget.peer` prints:");
  });

  it("E0301: title, the failing spec, the message with its caret, and the fix", async () => {
    const r = await run(["explain", "E0301"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^E0301 \(error\): experts or memories must be a perfect square/);
    expect(r.out).toContain("peer(experts: 1_048_000");
    expect(r.out).toMatch(/error\[E0301\]/);
    expect(r.out).toMatch(/\^\^\^/);
    expect(r.out).toMatch(/^Fix: use 1023\^2 = 1,046,529 or 1024\^2 = 1,048,576$/m);
    expect(r.out).toContain("docs/diagnostics.md#e0301");
  });

  it("accepts e301, lists every code without an argument, and explains codes without a fixture", async () => {
    expect((await run(["explain", "e301"])).out).toMatch(/^E0301 /);
    const all = await run(["explain"]);
    expect(all.code).toBe(0);
    for (const e of CATALOG) expect(all.out).toContain(e.code);
    const bug = await run(["explain", "E0199"]);
    expect(bug.code).toBe(0);
    expect(bug.out).toMatch(/bug in the checker/);
  });

  it("json gives the example and fix as fields", async () => {
    const r = await run(["explain", "W0101", "--format", "json"]);
    const doc = JSON.parse(r.out);
    expect(doc).toMatchObject({ code: "W0101", severity: "warning" });
    expect(doc.example.source).toMatch(/let /);
    expect(typeof doc.fix).toBe("string");
  });

  it("an unknown code is a usage error with a suggestion", async () => {
    const r = await run(["explain", "E9999"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no diagnostic has the code E9999/);
    const typo = await run(["explain", "E3O1"]);
    expect(typo.code).toBe(2);
    expect(typo.err).toMatch(/not a diagnostic code/);
  });
});

describe("peerc init", () => {
  it("writes a starter spec that checks clean, has a dense and a PEER model with train and budgets, and passes its budgets", async () => {
    const dir = tempDir();
    const r = await run(["init", "my-model"], dir);
    expect(r.code).toBe(0);
    const file = path.join(dir, "my-model.peer");
    const text = fs.readFileSync(file, "utf8");
    expect(text).toMatch(/^\/\//);
    const result = checkFiles(["my-model.peer"], diskHost(dir));
    expect(result.diagnostics).toEqual([]);
    expect(result.program.models.map((m) => m.name)).toEqual(["dense", "peer"]);
    for (const m of result.program.models) {
      expect(m.train).not.toBeNull();
      expect(m.budgets.length).toBeGreaterThan(0);
      expect(evaluateBudgets(m, costModel(m))).toEqual([]);
    }
    expect(result.program.models[1]!.layers.some((l) => l.kind === "peer")).toBe(true);
    expect(result.program.models[0]!.layers.some((l) => l.kind === "peer")).toBe(false);
    const check = await run(["check", "my-model.peer"], dir);
    expect(check.code).toBe(0);
  });

  it("refuses to overwrite, leaving the file as it was", async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "starter.peer"), "// mine\n");
    const r = await run(["init"], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/starter\.peer already exists/);
    expect(fs.readFileSync(path.join(dir, "starter.peer"), "utf8")).toBe("// mine\n");
  });

  it("takes a name with .peer and a folder; a missing folder is a usage error", async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, "specs"));
    expect((await run(["init", "specs/x.peer"], dir)).code).toBe(0);
    expect(fs.existsSync(path.join(dir, "specs", "x.peer"))).toBe(true);
    expect((await run(["init", "nope/y"], dir)).code).toBe(2);
  });
});

describe("peerc show", () => {
  it("lists every resolved value with its origin: spec line, default, derived", async () => {
    const r = await run(["show", "specs/tiny.peer"]);
    expect(r.code).toBe(0);
    const line = (key: string) => r.out.split("\n").find((l) => l.trim().startsWith(key + " "));
    expect(line("vocab")).toMatch(/256\s+specs\/tiny\.peer:9:9$/);
    expect(line("batch")).toMatch(/16\s+specs\/tiny\.peer:32:9$/);
    expect(line("optimizer.lr")).toMatch(/0\.003\s+specs\/tiny\.peer:34:19$/);
    expect(line("optimizer.eps")).toMatch(/1e-8\s+default$/);
    expect(line("seed")).toMatch(/1\s+default$/);
    expect(line("micro_batch")).toMatch(/derived from batch/);
    expect(r.out).toMatch(/blocks\.1\..*peer\s+peer\s+specs\/tiny\.peer:21:9/);
    expect(r.out).toMatch(/sub_keys\s+64\s+derived from √experts/);
    expect(r.out).toMatch(/params <= 2M\s+specs\/tiny\.peer:43:3/);
  });

  it("json: every value has a key, a value and an origin; a block from an imported file is `import`", async () => {
    const r = await run(["show", "specs/paper.peer", "--model", "peer", "--format", "json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.schema).toBe("peerc.show/v2");
    expect(doc.models).toHaveLength(1);
    const m = doc.models[0];
    expect(m.name).toBe("peer");
    const attention = m.layers.find((l: { kind: string }) => l.kind === "attention");
    expect(attention.origin).toMatchObject({ kind: "import", file: "specs/backbone.peer" });
    const heads = attention.values.find((v: { key: string }) => v.key === "heads");
    expect(heads).toMatchObject({ value: 16, origin: { kind: "import", file: "specs/backbone.peer" } });
    const flops = m.train.find((v: { key: string }) => v.key === "flops");
    expect(flops).toMatchObject({ value: 2e19, origin: { kind: "spec", file: "specs/paper.peer" } });
    for (const v of [...m.model, ...m.train, ...m.layers.flatMap((l: { values: unknown[] }) => l.values)]) {
      expect(["spec", "import", "default", "derived"]).toContain(v.origin.kind);
    }
  });

  it("a layer from a block shows the call sites it came through, then the block's line (nested blocks, repeats)", async () => {
    const dir = tempDir();
    fs.writeFileSync(
      path.join(dir, "m.peer"),
      [
        "block inner(w, m = 4) {",
        "  ffw(hidden: m * w)",
        "}",
        "block outer(w) {",
        "  norm rms",
        "  inner(w: w)",
        "}",
        "model m {",
        "  vocab 256",
        "  context 64",
        "  embed tokens(dim: 32)",
        "  outer(w: 32)",
        "  repeat 2 {",
        "    outer(w: 16)",
        "  }",
        "  norm rms",
        "  lm_head tied",
        "}",
        "",
      ].join("\n"),
    );
    const text = await run(["show", "m.peer"], dir);
    expect(text.code).toBe(0);
    const layerLine = (p: string) => text.out.split("\n").find((l) => l.startsWith(`  ${p}  `));
    expect(layerLine("outer.norm")).toBe("  outer.norm  norm  m.peer:12:3 outer(…) → m.peer:5:3");
    expect(layerLine("outer.inner.ffw")).toBe("  outer.inner.ffw  ffw  m.peer:12:3 outer(…) → m.peer:6:3 inner(…) → m.peer:2:3");
    expect(layerLine("blocks.1.outer.inner.ffw")).toBe("  blocks.1.outer.inner.ffw  ffw  m.peer:14:5 outer(…) → m.peer:6:3 inner(…) → m.peer:2:3");
    // Written in the model body: its own line, no calls.
    expect(layerLine("norm")).toBe("  norm  norm  m.peer:16:3");

    const doc = JSON.parse((await run(["show", "m.peer", "--format", "json"], dir)).out);
    const layer = (p: string) => doc.models[0].layers.find((l: { path: string }) => l.path === p);
    const spec = (line: number, column: number) => ({ kind: "spec", file: "m.peer", line, column });
    expect(layer("blocks.0.outer.inner.ffw").origin).toEqual(spec(2, 3));
    expect(layer("blocks.0.outer.inner.ffw").calls).toEqual([
      { block: "outer", origin: spec(14, 5) },
      { block: "inner", origin: spec(6, 3) },
    ]);
    expect(layer("embed").calls).toEqual([]);

    // A value from block parameters names where they were written: `m`'s default, and `w` through
    // `inner(w: w)` (passed on unchanged) back to the model's call.
    const hidden = (p: string) => layer(p).values.find((v: { key: string }) => v.key === "hidden");
    expect(hidden("outer.inner.ffw")).toEqual({
      key: "hidden",
      value: 128,
      origin: spec(2, 7),
      params: [
        { param: "m", how: "default", origin: spec(1, 20) },
        { param: "w", how: "argument", origin: spec(12, 9) },
      ],
    });
    expect(hidden("blocks.1.outer.inner.ffw").value).toBe(64);
    expect(hidden("blocks.1.outer.inner.ffw").params[1]).toEqual({ param: "w", how: "argument", origin: spec(14, 11) });
    expect(text.out).toMatch(/^ {6}hidden +128 +m\.peer:2:7 \(m: default at m\.peer:1:20, w: m\.peer:12:9\)$/m);
    // A value that uses no parameter has none.
    expect(layer("norm").values.every((v: { params?: unknown }) => v.params === undefined)).toBe(true);

    // Through a `let` of the block's body, and a shadowing `let` that uses the parameter it hides.
    fs.writeFileSync(
      path.join(dir, "let.peer"),
      "block b(w) {\n  let h = 2 * w\n  ffw(hidden: h)\n  let w = w + 1\n  ffw(hidden: w)\n}\nmodel m {\n  vocab 256\n  context 64\n  embed tokens(dim: 32)\n  b(w: 8)\n  lm_head tied\n}\n",
    );
    const lets = JSON.parse((await run(["show", "let.peer", "--format", "json"], dir)).out).models[0].layers;
    const fromCall = [{ param: "w", how: "argument", origin: { kind: "spec", file: "let.peer", line: 11, column: 5 } }];
    expect(lets.find((l: { path: string }) => l.path === "b.ffw").values.find((v: { key: string }) => v.key === "hidden")).toMatchObject({ value: 16, params: fromCall });
    expect(lets.find((l: { path: string }) => l.path === "b.ffw_2").values.find((v: { key: string }) => v.key === "hidden")).toMatchObject({ value: 9, params: fromCall });
  });

  it("a block imported from another file: the call in the spec, then `import` at the block's line", async () => {
    const r = await run(["show", "specs/paper.peer", "--model", "moe", "--format", "json"]);
    const lines = fs.readFileSync(path.join(repo, "specs/paper.peer"), "utf8").split("\n");
    const moeAt = lines.findIndex((l) => l.startsWith("model moe"));
    const callLine = lines.findIndex((l, i) => i > moeAt && l.trim() === "mixer(width: d)") + 1;
    const backbone = fs.readFileSync(path.join(repo, "specs/backbone.peer"), "utf8").split("\n");
    const attentionLine = backbone.findIndex((l) => l.trim().startsWith("attention(")) + 1;
    const attention = JSON.parse(r.out).models[0].layers.find((l: { path: string }) => l.path === "blocks.5.mixer.attention");
    expect(attention.calls).toEqual([
      { block: "mixer", origin: { kind: "spec", file: "specs/paper.peer", line: callLine, column: lines[callLine - 1]!.indexOf("mixer") + 1 } },
    ]);
    expect(attention.origin).toEqual({ kind: "import", file: "specs/backbone.peer", line: attentionLine, column: backbone[attentionLine - 1]!.indexOf("attention") + 1 });
    // head_dim is `width / heads`: width from the call's argument, heads from the block's default.
    const headDim = attention.values.find((v: { key: string }) => v.key === "head_dim");
    const blockLine = backbone.findIndex((l) => l.startsWith("block mixer(")) + 1;
    expect(headDim.params).toEqual([
      { param: "width", how: "argument", origin: { kind: "spec", file: "specs/paper.peer", line: callLine, column: lines[callLine - 1]!.indexOf("width") + 1 } },
      { param: "heads", how: "default", origin: { kind: "import", file: "specs/backbone.peer", line: blockLine, column: backbone[blockLine - 1]!.indexOf("16") + 1 } },
    ]);
    const text = await run(["show", "specs/paper.peer", "--model", "moe"]);
    expect(text.out).toContain(`  blocks.5.mixer.attention  attention  specs/paper.peer:${callLine}:5 mixer(…) → import specs/backbone.peer:${attentionLine}:5\n`);
  });

  it("a model without a train section shows the defaults of a run, marked default", async () => {
    const dir = tempDir();
    fs.writeFileSync(
      path.join(dir, "m.peer"),
      "model m {\n  vocab 256\n  context 64\n  embed tokens(dim: 32)\n  norm rms\n  lm_head tied\n}\n",
    );
    const r = await run(["show", "m.peer"], dir);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/no train section/);
    expect(r.out).toMatch(/^  batch\s+8\s+default$/m);
  });

  it("an unknown --model is a usage error naming the models", async () => {
    const r = await run(["show", "specs/paper.peer", "--model", "nope"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/models: dense, moe, pkm, peer/);
  });
});

describe("the peerc.show/v2 schema", () => {
  it("docs/show.schema.json is up to date with compiler/cli/commands/show-schema.ts", async () => {
    const { showSchemaText } = await import("../../compiler/cli/commands/show-schema.js");
    expect(fs.readFileSync(path.join(repo, "docs/show.schema.json"), "utf8")).toBe(showSchemaText());
  });

  it("accepts `peerc show --format json` of every shipped spec (zod and ajv), and rejects a value without origin", async () => {
    const { ShowJsonSchema } = await import("../../compiler/cli/commands/show-schema.js");
    const { Ajv2020 } = await import("ajv/dist/2020.js");
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(fs.readFileSync(path.join(repo, "docs/show.schema.json"), "utf8")));
    // backbone.peer holds only lets and blocks (a library): `show` has no model to show there.
    const specs = fs.readdirSync(path.join(repo, "specs")).filter((f) => f.endsWith(".peer") && /^model /m.test(fs.readFileSync(path.join(repo, "specs", f), "utf8")));
    expect(specs.length).toBeGreaterThanOrEqual(4);
    for (const spec of specs) {
      const r = await run(["show", `specs/${spec}`, "--format", "json"]);
      expect(r.code, spec).toBe(0);
      const doc = JSON.parse(r.out);
      expect(ShowJsonSchema.safeParse(doc).success, spec).toBe(true);
      expect(validate(doc), `${spec}: ${JSON.stringify(validate.errors)}`).toBe(true);
      if (spec === "tiny.peer") {
        delete doc.models[0].train[0].origin;
        expect(validate(doc)).toBe(false);
      }
    }
  });
});
