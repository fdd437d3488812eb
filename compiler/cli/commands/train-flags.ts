/**
 * `peerc train FILE --steps 3`: trainer flags given before `--` would reach
 * peerc's own parser ("unknown option"). This spots them (the flag table is
 * ir/trainer-flags.ts) and says where they go. Kept apart from train.ts so the
 * check costs no compiler import.
 */
import { TRAINER_FLAGS } from "../../../ir/trainer-flags.js";

/** peerc train's own options, which stay before `--`. */
const OWN_OPTIONS = new Set(["model", "target", "help"]);
/** Those of them that take a value. */
const WITH_VALUE = new Set(["-m", "--model", "-t", "--target"]);

/** The message for `argv` (the whole peerc command line) when it puts trainer flags before `--`, else null. */
export function misplacedTrainerFlags(argv: readonly string[]): string | null {
  if (argv[0] !== "train") return null;
  const end = argv.indexOf("--");
  const before = argv.slice(1, end === -1 ? undefined : end);
  const after = end === -1 ? [] : argv.slice(end + 1);
  const flags = new Map(TRAINER_FLAGS.map((f) => [f.name, f]));
  const keep: string[] = [];
  const moved: string[] = [];
  let first: string | null = null;
  for (let i = 0; i < before.length; i++) {
    const arg = before[i]!;
    const name = arg.startsWith("--") ? arg.slice(2).split("=")[0]! : null;
    const flag = name === null || OWN_OPTIONS.has(name) ? undefined : flags.get(name);
    if (flag === undefined) {
      keep.push(arg);
      // -m NAME / --target torch: the value stays with it.
      if (WITH_VALUE.has(arg) && i + 1 < before.length) keep.push(before[++i]!);
      continue;
    }
    first ??= `--${flag.name}`;
    moved.push(arg);
    if (flag.type !== "boolean" && !arg.includes("=") && i + 1 < before.length && !before[i + 1]!.startsWith("--")) moved.push(before[++i]!);
  }
  if (first === null) return null;
  const words = ["peerc", "train", ...keep, "--", ...moved, ...after].map(shellWord);
  return `${first} is a trainer flag: put trainer flags after --, as in: ${words.join(" ")}`;
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
