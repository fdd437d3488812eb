#!/usr/bin/env bash
# Builds a carry kit for bench/gpu.ts on a machine with no Node and no network
# (docs/gpu.md, "On a GPU machine"): ../shared/gpu/make-device-kit.sh's Node 20 +
# Vulkan loader + run.sh, plus the esbuild bundle of the benchmark, dawn.node
# (xz) and specs/peer-1m.peer.
#   usage: bench/gpu-kit.sh KIT_DIR [path/to/make-device-kit.sh]
# Then on the device machine: KIT_DIR/run.sh KIT_DIR/gpu-bench.mjs [--small]
set -euo pipefail
kit=${1:?usage: bench/gpu-kit.sh KIT_DIR [make-device-kit.sh]}
maker=${2:-$(dirname "$0")/../../shared/gpu/make-device-kit.sh}
cd "$(dirname "$0")/.."
bash "$maker" "$kit" >/dev/null
npx esbuild bench/gpu-entry.ts --bundle --platform=node --format=esm --log-level=warning \
  --outfile="$kit/gpu-bench.mjs" \
  --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
xz -T0 -9 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$kit/dawn.node.xz"
cp specs/peer-1m.peer "$kit/"
du -sh "$kit"
