/**
 * Usage errors quote what the user typed (paths, flag names, flag values): a
 * control character in it reaches the terminal as an escape (`\x1b`, `\r`,
 * `\x07`), never raw, and a line feed cannot start a line of its own. Both the
 * peerc CLI and the emitted trainer's argv parsing.
 */
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runCli } from "../../compiler/cli/main.js";
import { memoryIO } from "../../compiler/cli/io.js";
import { parseTrainArgs } from "../../runtime/train/options.js";
import { UsageError } from "../../diagnostics/errors.js";

const repo = path.resolve(import.meta.dirname, "../..");
/** Every character a terminal acts on, line feed and tab aside (those are layout). */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const ESC = "\u001b[31m";
const BEL = "\u0007";
const CR = "\r";

async function run(args: string[], cwd = repo) {
  const io = memoryIO({ cwd });
  const code = await runCli(args, io);
  return { code, out: io.stdoutText, err: io.stderrText };
}

function expectEscaped(text: string): void {
  expect(RAW_CONTROL.exec(text)?.[0].charCodeAt(0).toString(16) ?? null, JSON.stringify(text)).toBeNull();
}

describe("peerc usage errors escape control characters from the command line", () => {
  it("a spec path (check, show, report): no such file", async () => {
    for (const command of ["check", "show", "report"]) {
      const r = await run([command, `red${ESC}.peer`]);
      expect(r.code, command).toBe(2);
      expectEscaped(r.err);
      expect(r.err).toBe("peerc: no such file: red\\x1b[31m.peer\n");
    }
  });

  it("a line feed in a path stays on the message's one line", async () => {
    const r = await run(["check", "a\nerror: forged.peer"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe("peerc: no such file: a\\nerror: forged.peer\n");
  });

  it("an unknown flag name and a bad choice (commander's own messages)", async () => {
    const flag = await run(["check", "specs/tiny.peer", `--bell${BEL}`]);
    expect(flag.code).toBe(2);
    expectEscaped(flag.err);
    expect(flag.err).toContain("unknown option '--bell\\x07'");
    const choice = await run(["check", "specs/tiny.peer", "--format", `human${CR}json`]);
    expect(choice.code).toBe(2);
    expectEscaped(choice.err);
    expect(choice.err).toContain("'human\\rjson' is invalid");
  });

  it("flag values checked by peerc (--max-errors, --flops-budget)", async () => {
    const max = await run(["check", "specs/tiny.peer", "--max-errors", `${ESC}9`]);
    expect(max.code).toBe(2);
    expect(max.err).toBe("peerc: --max-errors takes a whole number, got '\\x1b[31m9'\n");
    const budget = await run(["report", "specs/tiny.peer", "--flops-budget", `6e18${BEL}`]);
    expect(budget.code).toBe(2);
    expectEscaped(budget.err);
    expect(budget.err).toContain("got '6e18\\x07'");
  });

  it("a --model name, an init target and a trainer flag before --", async () => {
    const model = await run(["show", "specs/paper.peer", "--model", `peer${CR}`]);
    expect(model.code).toBe(2);
    expectEscaped(model.err);
    expect(model.err).toMatch(/^peerc: specs\/paper\.peer has no model named "peer\\r"\n/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-ctl-"));
    const init = await run(["init", `missing${ESC}/x`], dir);
    expect(init.code).toBe(2);
    expectEscaped(init.err);
    expect(init.err).toContain("missing\\x1b[31m");
    const misplaced = await run(["train", "specs/tiny.peer", "--steps", `3${BEL}`]);
    expect(misplaced.code).toBe(2);
    expectEscaped(misplaced.err);
    expect(misplaced.err).toMatch(/^peerc: --steps is a trainer flag: .*'3\\x07'\n$/);
  });

  it("explain of a code with control characters", async () => {
    const r = await run(["explain", `E0${ESC}301`]);
    expect(r.code).toBe(2);
    expectEscaped(r.err);
    expect(r.err).toContain("'E0\\x1b[31m301' is not a diagnostic code");
  });
});

describe("the trainer's argv parsing escapes control characters", () => {
  function usage(argv: string[]): string {
    try {
      parseTrainArgs(argv, "tiny");
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      return (error as Error).message;
    }
    throw new Error(`no usage error for ${JSON.stringify(argv)}`);
  }

  it("an unknown flag name, with the suggestion kept", () => {
    expect(usage([`--steps${BEL}`])).toBe("unknown flag --steps\\x07 (did you mean --steps?)");
    expect(usage([`--${ESC}`])).toBe("unknown flag --\\x1b[31m");
    expect(usage([`--x${CR}y=3`])).toBe("unknown flag --x\\ry");
  });

  it("bad values of --steps, --backend and --seed", () => {
    expect(usage(["--steps", `1${BEL}`])).toBe('--steps must be a positive integer, got "1\\x07"');
    expect(usage(["--backend", `wasm${CR}`])).toMatch(/^--backend must be one of .*, got "wasm\\r"$/);
    expect(usage(["--seed", `${ESC}\n2`])).toBe('--seed must be an integer, got "\\x1b[31m\\n2"');
  });

  it("a stray argument (node:util's message quotes it)", () => {
    const message = usage([`stray${ESC}`]);
    expectEscaped(message);
    expect(message).toContain("stray\\x1b[31m");
  });
});
