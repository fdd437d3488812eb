#!/usr/bin/env node
// Entry point of the `peerc` command. The compiler is TypeScript built to dist/
// by `npm ci` (the `prepare` script); this shim only finds it.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const main = new URL("../dist/compiler/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write("peerc: the compiler is not built yet; run `npm run build` in the peerc folder first\n");
  process.exit(2);
}
const { runCli, nodeIO } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2), nodeIO());
