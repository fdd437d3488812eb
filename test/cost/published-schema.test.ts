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
    expect(report.models.length).toBe(10);
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
