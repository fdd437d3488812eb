/**
 * `peerc` — the command line. Each command lives in commands/<name>.ts and
 * returns an exit code; this file only parses flags (commander) and turns
 * errors into messages: a usage mistake is one line and exit 2, a bug is an
 * "internal error" with a request to report it, and never a bare stack trace.
 */
import { Command, CommanderError, Option } from "commander";
import type { CliIO } from "./io.js";
import { EXIT_OK, EXIT_USAGE, UsageError } from "../../diagnostics/errors.js";
import { PEERC_VERSION } from "../../ir/version.js";
import { misplacedTrainerFlags } from "./commands/train-flags.js";
import { visible } from "../../diagnostics/source.js";

export { nodeIO } from "./io.js";

// Commands are imported when they run: `compile` pulls in ts-morph and the
// TypeScript compiler (about a second to load), which `check` and `report`
// in a CI job should not pay for.
const checkCommand: typeof import("./commands/check.js").checkCommand = async (...args) =>
  (await import("./commands/check.js")).checkCommand(...args);
const fmtCommand: typeof import("./commands/fmt.js").fmtCommand = async (...args) =>
  (await import("./commands/fmt.js")).fmtCommand(...args);
const reportCommand: typeof import("./commands/report.js").reportCommand = async (...args) =>
  (await import("./commands/report.js")).reportCommand(...args);
const diffCommand: typeof import("./commands/diff.js").diffCommand = async (...args) =>
  (await import("./commands/diff.js")).diffCommand(...args);
const compileCommand: typeof import("./commands/compile.js").compileCommand = async (...args) =>
  (await import("./commands/compile.js")).compileCommand(...args);
const trainCommand: typeof import("./commands/train.js").trainCommand = async (...args) =>
  (await import("./commands/train.js")).trainCommand(...args);
const sweepCommand: typeof import("./commands/sweep.js").sweepCommand = async (...args) =>
  (await import("./commands/sweep.js")).sweepCommand(...args);
const explainCommand: typeof import("./commands/explain.js").explainCommand = async (...args) =>
  (await import("./commands/explain.js")).explainCommand(...args);
const initCommand: typeof import("./commands/init.js").initCommand = async (...args) =>
  (await import("./commands/init.js")).initCommand(...args);
const showCommand: typeof import("./commands/show.js").showCommand = async (...args) =>
  (await import("./commands/show.js")).showCommand(...args);

function examples(lines: string[]): string {
  return "\nExamples:\n" + lines.map((l) => `  $ ${l}`).join("\n") + "\n";
}

function positiveInt(value: string, name: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${name} takes a whole number, got '${value}'`);
  return Number(value);
}

function positiveNumber(value: string, name: string): number {
  const n = Number(value.replace(/_/g, ""));
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} takes a positive number like 6e18, got '${value}'`);
  return n;
}

export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  let exitCode = EXIT_OK;
  const program = new Command("peerc");
  program
    .description("Compile .peer specs of sparse-expert language models: check, report costs, gate budgets, emit trainers.")
    .version(PEERC_VERSION, "-v, --version")
    // Commander's errors quote what the user typed (an unknown option, a bad choice): escaped, like every usage error.
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(visible(s)) })
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText(
      "after",
      examples([
        "peerc check specs/tiny.peer",
        "peerc report specs/paper.peer --format md",
        "peerc report specs/*.peer --budget --format github",
        "peerc diff main:specs/tiny.peer specs/tiny.peer",
        "peerc compile specs/tiny.peer -o generated/tiny",
        "peerc train specs/tiny.peer -- --steps 100",
      ]),
    );

  program
    .command("check")
    .description("parse and check specs; print diagnostics with file:line:col (exit 0 clean, 1 errors, 2 usage)")
    .argument("<files...>", ".peer files")
    .addOption(new Option("-f, --format <format>", "diagnostic format").choices(["human", "json", "github"]).default("human"))
    .option("--max-errors <n>", "show at most n errors (0: all)", "50")
    .addHelpText("after", examples(["peerc check specs/*.peer", "peerc check specs/tiny.peer --format github"]))
    .action(async (files: string[], opts: { format: "human" | "json" | "github"; maxErrors: string }) => {
      exitCode = await checkCommand(io, files, { format: opts.format, maxErrors: positiveInt(opts.maxErrors, "--max-errors") });
    });

  program
    .command("fmt")
    .description("print specs in the canonical layout (comments kept)")
    .argument("<files...>", ".peer files")
    .option("--check", "exit 1 when a file is not formatted; change nothing")
    .option("-w, --write", "rewrite the files in place")
    .addHelpText("after", examples(["peerc fmt specs/tiny.peer", "peerc fmt --check specs/*.peer", "peerc fmt --write specs/*.peer"]))
    .action(async (files: string[], opts: { check?: boolean; write?: boolean }) => {
      if (opts.check && opts.write) throw new UsageError("--check and --write exclude each other");
      exitCode = await fmtCommand(io, files, { mode: opts.check ? "check" : opts.write ? "write" : "print" });
    });

  program
    .command("report")
    .description("static cost report: params, active params, FLOPs, memory and bytes moved, per layer and in total")
    .argument("<files...>", ".peer files")
    .addOption(new Option("-f, --format <format>", "output format").choices(["table", "json", "md", "github"]).default("table"))
    .option("-d, --depth <n>", "fold layers deeper than n path segments into their parent", "99")
    .option("--budget", "evaluate the specs' budget sections; exit 1 when one is broken")
    .addOption(new Option("--target <target>", "roofline target for step-time estimates").choices(["h100", "a100", "cpu"]))
    .option("--cpu-peak <flops>", "peak FLOP/s of the cpu target (e.g. 50e9)")
    .option("--cpu-bandwidth <bytes>", "memory bandwidth of the cpu target in bytes/s (e.g. 20e9)")
    .option("--flops-budget <flops>", "for sweeps: the training tokens each variant gets within this FLOP budget")
    .addHelpText(
      "after",
      examples([
        "peerc report specs/paper.peer",
        "peerc report specs/paper.peer --format json > report.json",
        "peerc report specs/ablation.peer --flops-budget 6e18",
        "peerc report specs/*.peer --budget --format github",
      ]),
    )
    .action(
      async (
        files: string[],
        opts: {
          format: "table" | "json" | "md" | "github";
          depth: string;
          budget?: boolean;
          target?: "h100" | "a100" | "cpu";
          cpuPeak?: string;
          cpuBandwidth?: string;
          flopsBudget?: string;
        },
      ) => {
        exitCode = await reportCommand(io, files, {
          format: opts.format,
          depth: positiveInt(opts.depth, "--depth"),
          budget: Boolean(opts.budget),
          target: opts.target,
          cpuPeakFlops: opts.cpuPeak === undefined ? undefined : positiveNumber(opts.cpuPeak, "--cpu-peak"),
          cpuBandwidth: opts.cpuBandwidth === undefined ? undefined : positiveNumber(opts.cpuBandwidth, "--cpu-bandwidth"),
          flopsBudget: opts.flopsBudget === undefined ? undefined : positiveNumber(opts.flopsBudget, "--flops-budget"),
        });
      },
    );

  program
    .command("diff")
    .description("what a change does to every figure: OLD and NEW are files or REV:path (read through git)")
    .argument("<old>", "file or REV:path")
    .argument("<new>", "file or REV:path")
    .addOption(new Option("-f, --format <format>", "output format").choices(["table", "md", "json"]).default("table"))
    .option("-m, --model <OLD=NEW>", "compare only this model; OLD=NEW pairs two names (repeatable)", collect, [])
    .option("--fail-on <rule>", "exit 1 when a change breaks RULE, e.g. 'params>+5%' (repeatable; see docs/ci.md)", collect, [])
    .addHelpText(
      "after",
      examples([
        "peerc diff main:specs/tiny.peer specs/tiny.peer",
        "peerc diff HEAD~1:specs/paper.peer specs/paper.peer --format md",
        "peerc diff old.peer new.peer --model dense=peer",
        "peerc diff main:specs/tiny.peer specs/tiny.peer --fail-on 'params>+5%' --fail-on 'flops_per_token>+10%'",
      ]),
    )
    .action(async (oldArg: string, newArg: string, opts: { format: "table" | "md" | "json"; model: string[]; failOn: string[] }) => {
      exitCode = await diffCommand(io, oldArg, newArg, { format: opts.format, models: opts.model, failOn: opts.failOn });
    });

  program
    .command("compile")
    .description("emit a specialised TypeScript trainer (model.ts, train.ts, JS, report.json, README.md)")
    .argument("<file>", ".peer file")
    .option("-m, --model <name>", "which model of the file (default: the only one)")
    .requiredOption("-o, --out <dir>", "output folder")
    .option("--no-typecheck", "skip the in-process tsc --strict check of the emitted code")
    .option("-t, --target <target>", "ts (TensorFlow.js trainer, default) or torch (PyTorch trainer: model.py, train.py)", "ts")
    .addHelpText("after", examples(["peerc compile specs/tiny.peer -o generated/tiny", "peerc compile specs/paper.peer --model peer -o out/peer", "peerc compile specs/tiny.peer --target torch -o out/tiny-torch"]))
    .action(async (file: string, opts: { model?: string; out: string; typecheck: boolean; target: string }) => {
      exitCode = await compileCommand(io, file, { model: opts.model, outDir: opts.out, typecheck: opts.typecheck, target: opts.target });
    });

  program
    .command("train")
    .description("compile into a cache keyed by the spec hash and peerc version, then run the trainer")
    .argument("<file>", ".peer file")
    .argument("[trainerFlags...]", "flags for the trainer, after --")
    .option("-m, --model <name>", "which model of the file (default: the only one)")
    .option("-t, --target <target>", "ts (TensorFlow.js trainer, default) or torch (PyTorch, the first python3 that imports torch)", "ts")
    .addHelpText("after", examples(["peerc train specs/tiny.peer", "peerc train specs/tiny.peer -- --steps 50 --backend cpu --out runs/tiny", "peerc train specs/tiny.peer --target torch -- --steps 50"]))
    .action(async (file: string, trainerFlags: string[], opts: { model?: string; target: string }) => {
      exitCode = await trainCommand(io, file, { model: opts.model, trainerArgs: trainerFlags, target: opts.target });
    });

  program
    .command("sweep")
    .description("train every model and variant of a spec at one FLOP budget; write results.json, results.md and plots (resumable)")
    .argument("<file>", ".peer file")
    .requiredOption("--flops-budget <flops>", "training FLOPs per variant: each trains for the steps this buys it")
    .requiredOption("-o, --out <dir>", "sweep folder: results, plots, one run folder per variant")
    .option("-j, --jobs <n>", "variants trained at once", "1")
    .option("-t, --target <target>", "tfjs (the TensorFlow.js trainer); torch is not available for sweeps yet", "tfjs")
    .option("--seed <n>", "seed of the weights and batch order of every variant", "1")
    .option("--data <file>", "training text for every variant (default: each spec's data)")
    .option("--val-data <file>", "validation text for every variant")
    .option("--eval-batches <n>", "validation batches (default: the whole validation split)")
    .option("--backend <name>", "trainer backend (see peerc train -- --help)")
    .addHelpText("after", examples(["peerc sweep specs/isoflop.peer --flops-budget 2e12 -o runs/isoflop", "peerc sweep specs/isoflop.peer --flops-budget 2e12 --data data/python-docs.txt -o runs/isoflop-docs"]))
    .action(async (file: string, opts: { flopsBudget: string; out: string; jobs: string; target: string; seed: string; data?: string; valData?: string; evalBatches?: string; backend?: string }) => {
      exitCode = await sweepCommand(io, file, {
        flopsBudget: positiveNumber(opts.flopsBudget, "--flops-budget"),
        outDir: opts.out,
        jobs: Math.max(1, positiveInt(opts.jobs, "--jobs")),
        target: opts.target,
        seed: positiveInt(opts.seed, "--seed"),
        data: opts.data,
        valData: opts.valData,
        evalBatches: opts.evalBatches === undefined ? undefined : Math.max(1, positiveInt(opts.evalBatches, "--eval-batches")),
        backend: opts.backend,
      });
    });

  program
    .command("explain")
    .description("what a diagnostic code means: a spec that fails with it, the message, and the fix (no code: list them)")
    .argument("[code]", "a diagnostic code, e.g. E0301")
    .addOption(new Option("-f, --format <format>", "output format").choices(["text", "json"]).default("text"))
    .addHelpText("after", examples(["peerc explain E0301", "peerc explain", "peerc explain W0101 --format json"]))
    .action(async (code: string | undefined, opts: { format: "text" | "json" }) => {
      exitCode = await explainCommand(io, code, { format: opts.format });
    });

  program
    .command("init")
    .description("write a commented starter spec NAME.peer (dense baseline, PEER variant, train, budget); never overwrites")
    .argument("[name]", "file name, with or without .peer (default: starter)")
    .addHelpText("after", examples(["peerc init", "peerc init my-model", "peerc init specs/experiment.peer"]))
    .action(async (name: string | undefined) => {
      exitCode = await initCommand(io, name);
    });

  program
    .command("show")
    .description("every resolved value of a model and its train section, with where it came from (spec line, import, default)")
    .argument("<file>", ".peer file")
    .option("-m, --model <name>", "which model of the file (default: all)")
    .addOption(new Option("-f, --format <format>", "output format").choices(["text", "json"]).default("text"))
    .addHelpText("after", examples(["peerc show specs/tiny.peer", "peerc show specs/paper.peer --model peer --format json"]))
    .action(async (file: string, opts: { model?: string; format: "text" | "json" }) => {
      exitCode = await showCommand(io, file, { model: opts.model, format: opts.format });
    });

  try {
    if (argv.length === 0) {
      io.stdout(program.helpInformation());
      return EXIT_USAGE;
    }
    const misplaced = misplacedTrainerFlags(argv);
    if (misplaced !== null) {
      io.stderr(`peerc: ${oneLine(misplaced)}\n`);
      return EXIT_USAGE;
    }
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (error) {
    return reportFailure(io, error);
  }
}

function reportFailure(io: CliIO, error: unknown): number {
  if (error instanceof CommanderError) {
    // --help and --version end through here too, with exit code 0.
    return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  if (error instanceof UsageError) {
    io.stderr(`peerc: ${oneLine(error.message)}\n`);
    if (error.hint) io.stderr(`  help: ${oneLine(error.hint)}\n`);
    return EXIT_USAGE;
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr(`peerc: internal error: ${oneLine(message)}\n`);
  io.stderr("  this is a bug in peerc, not in your spec; please report it with the spec and this command line\n");
  if (io.env.PEERC_DEBUG && error instanceof Error && error.stack) io.stderr(error.stack + "\n");
  return EXIT_USAGE;
}

/**
 * A usage message quotes what the user typed (a path, a flag, a value): its
 * control characters are written as escapes so it can neither drive the
 * terminal nor start a line of its own.
 */
function oneLine(text: string): string {
  return visible(text).replace(/\n/g, "\\n");
}

/** Commander option parser for a repeatable option. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
