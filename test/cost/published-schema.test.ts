/**
 * `peerc report specs/*.peer --format json` against the published JSON Schema
 * (docs/report.schema.json, what users' CI validates with), read by an
 * independent validator (ajv) rather than the zod schema it was generated from.
 */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { runCli } from "../../compiler/cli/main.js";
import { memoryIO } from "../../compiler/cli/io.js";
import { DIAGNOSTICS_SCHEMA_PATH, DIFF_SCHEMA_PATH, diagnosticsSchemaText, diffSchemaText, reportSchemaText } from "../../docs/gen-report-schema.js";

const repo = path.resolve(import.meta.dirname, "../..");

describe("the published report schema", () => {
  it("accepts the JSON report of every shipped spec, with every figure on every layer", async () => {
    const schema = JSON.parse(fs.readFileSync(path.join(repo, "docs/report.schema.json"), "utf8"));
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
    const specs = fs.readdirSync(path.join(repo, "specs")).filter((f) => f.endsWith(".peer")).map((f) => `specs/${f}`);
    const io = memoryIO({ cwd: repo });
    expect(await runCli(["report", ...specs, "--format", "json"], io)).toBe(0);
    const report = JSON.parse(io.stdoutText);
    const ok = validate(report);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect(report.models.length).toBe(22); // 10, and the 12 variants of specs/isoflop.peer
    for (const model of report.models) {
      for (const layer of model.layers) {
        for (const key of ["path", "kind", "args", "params", "active_params", "flops_per_token", "params_breakdown", "memory_bytes", "span"]) {
          expect(layer, `${model.name} ${layer.path}`).toHaveProperty(key);
        }
        expect(layer.args).toHaveProperty("d_model");
      }
      expect(model.totals).toHaveProperty("train");
    }
  });

  it("rejects a report missing a layer figure (the schema is not vacuous)", async () => {
    const schema = JSON.parse(fs.readFileSync(path.join(repo, "docs/report.schema.json"), "utf8"));
    const validate = new Ajv2020({ strict: false }).compile(schema);
    const io = memoryIO({ cwd: repo });
    await runCli(["report", "specs/tiny.peer", "--format", "json"], io);
    const report = JSON.parse(io.stdoutText);
    delete report.models[0].layers[2].flops_per_token;
    expect(validate(report)).toBe(false);
  });
});

const compile = (schema: unknown) => new Ajv2020({ allErrors: true, strict: false }).compile(schema as object);

describe("the published report schema, as generated now", () => {
  it("accepts a report with --flops-budget figures", async () => {
    const validate = compile(JSON.parse(reportSchemaText()));
    const io = memoryIO({ cwd: repo });
    expect(await runCli(["report", "specs/ablation.peer", "specs/tiny.peer", "--format", "json", "--flops-budget", "6e18"], io)).toBe(0);
    const report = JSON.parse(io.stdoutText);
    validate(report);
    expect(validate.errors ?? []).toEqual([]);
    expect(report.models.every((m: { flops_budget?: unknown }) => m.flops_budget !== undefined)).toBe(true);
    report.models[0].flops_budget.tokens = -1;
    expect(validate(report)).toBe(false);
  });
});

describe("the published diagnostics schema (peerc.diagnostics/v1)", () => {
  it("docs/diagnostics.schema.json is generated and up to date (npx tsx docs/gen-report-schema.ts)", () => {
    expect(fs.readFileSync(DIAGNOSTICS_SCHEMA_PATH, "utf8")).toBe(diagnosticsSchemaText());
  });

  it("accepts `peerc check --format json` of every golden bad spec, and rejects a broken document", async () => {
    const validate = compile(JSON.parse(fs.readFileSync(DIAGNOSTICS_SCHEMA_PATH, "utf8")));
    const bad = fs.readdirSync(path.join(repo, "test/fixtures/bad")).filter((f) => f.endsWith(".peer")).map((f) => `test/fixtures/bad/${f}`);
    // One file at a time: a file with syntax errors is reported with those only.
    const all: { code: string; severity: string; labels: unknown[] }[] = [];
    let doc: { schema: string; diagnostics: Record<string, unknown>[] } | null = null;
    for (const file of bad) {
      const io = memoryIO({ cwd: repo });
      await runCli(["check", file, "--format", "json"], io);
      if (io.stdoutText.trim() === "") continue; // E06xx: clean for check, broken for the budget gate
      doc = JSON.parse(io.stdoutText);
      validate(doc);
      expect(validate.errors ?? [], file).toEqual([]);
      expect(doc!.schema).toBe("peerc.diagnostics/v1");
      all.push(...(doc!.diagnostics as never[]));
    }
    const codes = new Set(all.map((d) => d.code));
    expect(codes.size).toBeGreaterThan(40);
    expect(all.some((d) => d.labels.length > 0)).toBe(true);
    expect(all.some((d) => d.severity === "warning")).toBe(true);
    const broken = structuredClone(doc!);
    broken.diagnostics[0].line = "3";
    expect(validate(broken)).toBe(false);
    delete doc!.diagnostics[0]!.code;
    expect(validate(doc)).toBe(false);
  });
});

describe("the published diff schema (peerc.diff/v1)", () => {
  it("docs/diff.schema.json is generated and up to date (npx tsx docs/gen-report-schema.ts)", () => {
    expect(fs.readFileSync(DIFF_SCHEMA_PATH, "utf8")).toBe(diffSchemaText());
  });

  it("accepts `peerc diff --format json` with added, removed, renamed and --fail-on results, and rejects a broken document", async () => {
    const validate = compile(JSON.parse(fs.readFileSync(DIFF_SCHEMA_PATH, "utf8")));
    const diff = async (args: string[]) => {
      const io = memoryIO({ cwd: repo });
      const code = await runCli(["diff", ...args, "--format", "json"], io);
      return { code, doc: JSON.parse(io.stdoutText) };
    };
    const across = await diff(["specs/tiny.peer", "specs/paper.peer"]);
    expect(across.code).toBe(0);
    validate(across.doc);
    expect(validate.errors ?? []).toEqual([]);
    const statuses = new Set(across.doc.models.map((m: { status: string }) => m.status));
    expect(statuses).toEqual(new Set(["added", "removed"]));
    const paired = await diff(["specs/tiny.peer", "specs/peer-1m.peer", "--model", "tiny=peer_1m", "--fail-on", "params>+5%", "--fail-on", "params>1T"]);
    validate(paired.doc);
    expect(validate.errors ?? []).toEqual([]);
    expect(paired.doc.models[0].renamedFrom).toBe("tiny");
    expect(paired.doc.fail_on).toHaveLength(2);
    expect(paired.code).toBe(1);
    paired.doc.models[0].status = "grown";
    expect(validate(paired.doc)).toBe(false);
  });
});
