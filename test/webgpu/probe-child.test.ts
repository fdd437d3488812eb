/**
 * The child-process adapter probe (runtime/backend/probe.ts) on stand-in
 * modules in place of `webgpu`: every way the child can end becomes one
 * line, worded as the in-process probe words it, and Dawn's known start-up
 * lines are not mistaken for the problem. Needs no GPU and no Dawn.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { probeAdapterInChild } from "../../runtime/backend/probe.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-probe-"));

/** A module file exporting `create`, with `body` as its source; its URL. */
function standIn(name: string, body: string): string {
  const file = path.join(dir, `${name}.mjs`);
  fs.writeFileSync(file, body);
  return pathToFileURL(file).href;
}

const probe = (module: string, timeoutMs?: number) => probeAdapterInChild(() => process.env, { module, timeoutMs });

describe("the child-process WebGPU adapter probe", () => {
  it("reports the adapter's vendor, architecture, description and limits (getters on the prototype, as Dawn's)", () => {
    const module = standIn(
      "adapter",
      `class Info { get vendor() { return "nvidia"; } get architecture() { return "hopper"; } get description() { return "NVIDIA H200"; } }
       export function create() { return { requestAdapter: async () => ({ info: new Info(), isFallbackAdapter: false, limits: { maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 32, other: 1 } }) }; }`,
    );
    expect(probe(module)).toEqual({
      ok: true,
      adapter: {
        info: { vendor: "nvidia", architecture: "hopper", description: "NVIDIA H200" },
        isFallbackAdapter: false,
        limits: { maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 32 },
      },
    });
  });

  it("no adapter is an answer, not a failure", () => {
    expect(probe(standIn("none", `export function create() { return { requestAdapter: async () => null }; }`))).toEqual({ ok: true, adapter: null });
  });

  it("each failing stage is named as the in-process probe names it", () => {
    expect(probe(standIn("create", `export function create() { throw new Error("no Vulkan loader"); }`))).toEqual({ ok: false, why: "dawn.node failed to start: no Vulkan loader" });
    expect(probe(standIn("request", `export function create() { return { requestAdapter: async () => { throw new Error("lost"); } }; }`))).toEqual({
      ok: false,
      why: "requestAdapter failed: lost",
    });
    expect(probe(standIn("import", `throw new Error("libvulkan.so.1: cannot open shared object file");`))).toEqual({
      ok: false,
      why: "installed, but libvulkan.so.1 could not be loaded (libvulkan.so.1: cannot open shared object file)",
    });
  });

  it("a crash in the driver is a reason (its stderr line, not Dawn's start-up warnings), and does not reach this process", () => {
    const module = standIn(
      "crash",
      `process.stderr.write("Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\\n");
       process.stderr.write("vkCreateInstance: driver crashed\\n");
       process.abort();`,
    );
    expect(probe(module)).toEqual({ ok: false, why: "the WebGPU adapter probe was killed by SIGABRT: vkCreateInstance: driver crashed" });
  });

  it("a probe that never answers is stopped at the time limit", () => {
    const module = standIn("hang", `export function create() { return { requestAdapter: () => new Promise(() => setInterval(() => {}, 1000)) }; }`);
    expect(probe(module, 1500)).toEqual({ ok: false, why: "the WebGPU adapter probe did not answer within 2 s" });
  });
});
