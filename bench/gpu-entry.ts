/**
 * Entry point of the self-contained bench/gpu.ts bundle for a machine with no
 * Node packages (docs/gpu.md, "On a GPU machine"): the tfjs webgpu backend is
 * bundled in, dawn.node is loaded from beside the bundle (or $DAWN_NODE), and
 * both are handed to the runtime's optional-package probe.
 *
 *   npx esbuild bench/gpu-entry.ts --bundle --platform=node --format=esm --outfile=KIT/gpu-bench.mjs \
 *     --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
 */
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as webgpuBackend from "@tensorflow/tfjs-backend-webgpu";
import { provideModule } from "../runtime/backend/probe.js";

const load = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
provideModule("webgpu", load(process.env["DAWN_NODE"] ?? path.join(here, "dawn.node")));
provideModule("@tensorflow/tfjs-backend-webgpu", webgpuBackend);
await import("./gpu.js");
