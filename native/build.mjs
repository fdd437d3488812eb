#!/usr/bin/env node
// Builds native/build/peerc_native.node (the sgemm addon: OpenBLAS, else its own kernel) during
// `npm ci` / `npm install`. Offline and optional: one g++ call against Node's
// own N-API headers, no node-gyp (it would want python3 and a headers
// download). It never fails the install: any problem prints one line saying
// the native kernels are unavailable and why, and exits 0; the runtime then
// keeps the wasm kernels.
//
//   node native/build.mjs            (PEERC_NATIVE=0 skips the build)
//   CXX=clang++ node native/build.mjs
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const sources = ["peerc_native.cc", "builtin_sgemm.cc"].map((f) => path.join(here, f));
const outDir = path.join(here, "build");
const output = path.join(outDir, "peerc_native.node");

function unavailable(why) {
  console.log(`peerc: native kernels unavailable (${why}); training uses the wasm kernels`);
  process.exit(0);
}

/** Node's N-API headers: next to this node binary (official tarballs, nvm), or the distro's. */
function headerDir() {
  const candidates = [
    process.env.PEERC_NODE_HEADERS,
    path.resolve(path.dirname(process.execPath), "../include/node"),
    "/usr/include/node",
    "/usr/local/include/node",
  ].filter(Boolean);
  return candidates.find((dir) => fs.existsSync(path.join(dir, "node_api.h")));
}

try {
  if (process.env.PEERC_NATIVE === "0") unavailable("PEERC_NATIVE=0");
  if (process.platform !== "linux") unavailable(`built on Linux only, this is ${process.platform}`);
  const include = headerDir();
  if (include === undefined) unavailable("Node's N-API headers (node_api.h) not found; set PEERC_NODE_HEADERS");
  const cxx = process.env.CXX || "g++";
  fs.mkdirSync(outDir, { recursive: true });
  const temporary = `${output}.tmp-${process.pid}`;
  // -ffp-contract=fast: the built-in kernel's a*b+c becomes one FMA in its AVX2 build (3x faster).
  const args = ["-O3", "-std=c++17", "-ffp-contract=fast", "-shared", "-fPIC", "-pthread", "-fvisibility=hidden", "-DNODE_GYP_MODULE_NAME=peerc_native", `-I${include}`, ...sources, "-o", temporary, "-ldl"];
  const result = spawnSync(cxx, args, { encoding: "utf8" });
  if (result.error) unavailable(`${cxx} could not run: ${result.error.message}`);
  if (result.status !== 0) {
    const firstError = (result.stderr || "").split("\n").find((l) => /error/i.test(l)) ?? `exit ${result.status}`;
    unavailable(`${cxx} failed: ${firstError.trim()}`);
  }
  fs.renameSync(temporary, output);
  console.log(`peerc: built native kernels (${path.relative(process.cwd(), output) || output})`);
} catch (error) {
  unavailable(error instanceof Error ? error.message : String(error));
}
