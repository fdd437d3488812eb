/**
 * `--backend auto` on a machine whose only WebGPU adapter is a software one
 * (lavapipe): the adapter is probed in a child process, so Dawn's native
 * stderr lines (`Warning: maxDynamic… artificially reduced …`) never reach the
 * run, and the backend line still says why webgpu was not used. Runs where a
 * software adapter is the one Dawn offers; skipped elsewhere, with the reason.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { probeAdapterInChild } from "../../runtime/backend/probe.js";
import { adapterFacts, ensureRuntimeDir } from "../../runtime/backend/webgpu.js";
import { noAdapter } from "./adapter.js";

const repo = path.resolve(import.meta.dirname, "../..");
const DAWN_LINE = /artificially reduced|^Warning:/m;

function softwareOnly(): string | null {
  if (noAdapter !== null) return noAdapter;
  const probe = probeAdapterInChild(() => (ensureRuntimeDir(), process.env));
  if (probe === null) return "the webgpu package cannot be probed in a child process here";
  if (!probe.ok) return probe.why;
  if (probe.adapter === null) return "no WebGPU adapter";
  return adapterFacts(probe.adapter).software ? null : "the adapter is a GPU: auto uses it";
}

const skip = softwareOnly();

/** Dawn asked for an adapter in a bare child process: what it prints on stderr. */
function rawDawnStderr(): string {
  const script = `const { create } = await import("webgpu"); await create([]).requestAdapter(); process.exit(0);`;
  return spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: repo, env: process.env, encoding: "utf8", timeout: 120_000 }).stderr;
}

describe.skipIf(skip !== null)(`backend auto with only a software WebGPU adapter${skip === null ? "" : ` (skipped: ${skip})`}`, () => {
  it("prints no Dawn warning lines, and the backend line names why webgpu was not used", () => {
    // The lines exist on this machine: Dawn in-process prints them whenever it sizes the adapter.
    expect(rawDawnStderr()).toMatch(/Warning: maxDynamic\w+ artificially reduced/);
    const run = spawnSync(process.execPath, ["--import", "tsx", "test/webgpu/fixtures/select-backend.ts", "auto"], {
      cwd: repo,
      env: process.env,
      encoding: "utf8",
      timeout: 300_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(DAWN_LINE);
    const line = run.stdout.trim();
    expect(line).toMatch(/^backend: (node|wasm|cpu) \(/);
    expect(line).toMatch(/not used: .*webgpu: only a software adapter \(.+\); it is used only when asked for by name: --backend webgpu/);
  }, 400_000);
});

const installed = probeAdapterInChild(() => process.env, { timeoutMs: 120_000 }) !== null;

describe.skipIf(!installed)(`backend auto where Vulkan has no driver${installed ? "" : " (skipped: the webgpu package is not installed)"}`, () => {
  it("the child probe finds no adapter; auto says so on the backend line, with nothing from Dawn on stderr", () => {
    const env = { ...process.env, VK_DRIVER_FILES: "/nonexistent/icd.json", VK_ICD_FILENAMES: "/nonexistent/icd.json" };
    expect(probeAdapterInChild(() => env)).toEqual({ ok: true, adapter: null });
    const run = spawnSync(process.execPath, ["--import", "tsx", "test/webgpu/fixtures/select-backend.ts", "auto"], { cwd: repo, env, encoding: "utf8", timeout: 300_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(DAWN_LINE);
    expect(run.stdout).toMatch(/not used: .*webgpu: no WebGPU adapter: Dawn found no usable Vulkan driver/);
  }, 400_000);
});
