// The CLI from source in a child process, for tests that must see what reaches the real stderr.
import { runCli, nodeIO } from "../../compiler/cli/main.ts";
process.exitCode = await runCli(process.argv.slice(2), nodeIO());
