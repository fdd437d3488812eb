/**
 * `peerc explain [CODE]`: what a diagnostic code means, a spec that fails
 * with it, what peerc prints for that spec, and the fix. Without a code, the
 * list of every code. Reads the catalog (diagnostics/codes/) and the examples
 * table generated from the golden fixtures (diagnostics/codes/examples.ts).
 */
import type { CliIO } from "../io.js";
import { EXIT_OK, UsageError } from "../../../diagnostics/errors.js";
import { CATALOG, catalogEntry } from "../../../diagnostics/codes/index.js";
import { EXAMPLES } from "../../../diagnostics/codes/examples.js";
import { visible } from "../../../diagnostics/source.js";
import { nearest } from "../../check/suggest.js";

/** Codes whose example cannot be a spec (bugs in peerc, a cap on the error count). */
const NO_EXAMPLE: Record<string, string> = {
  E0098: "It reports a bug in the parser, with the spec's location; no valid or invalid spec should cause it. Please report it with the file.",
  E0099: "It is printed once after 50 syntax errors in one file, instead of the rest. Fix the first errors and check again.",
  E0199: "It reports a bug in the checker, with the spec's location; no spec should cause it. Please report it with the file.",
};

const CODE = /^[EW]\d{4}$/i;

export async function explainCommand(io: CliIO, code: string | undefined, options: { format: "text" | "json" }): Promise<number> {
  if (code === undefined) {
    if (options.format === "json") {
      io.stdout(JSON.stringify(CATALOG.map((e) => ({ code: e.code, severity: e.severity, title: e.title })), null, 2) + "\n");
    } else {
      const lines = CATALOG.map((e) => `${e.code}  ${e.severity === "error" ? "error  " : e.severity}  ${e.title}`);
      io.stdout(`${lines.join("\n")}\n\nrun \`peerc explain CODE\` for one code's example and fix\n`);
    }
    return EXIT_OK;
  }
  // `e301` and `E301` mean E0301.
  const wanted = code.trim().toUpperCase().replace(/^([EW])(\d{1,3})$/, (_, letter: string, digits: string) => letter + digits.padStart(4, "0"));
  const entry = CODE.test(wanted) ? catalogEntry(wanted) : undefined;
  if (!entry) {
    const guess = nearest(wanted, CATALOG.map((e) => e.code));
    throw new UsageError(
      CODE.test(wanted) ? `no diagnostic has the code ${wanted}` : `'${visible(code)}' is not a diagnostic code (they look like E0301 or W0101)`,
      guess ? `did you mean ${guess}? \`peerc explain\` lists every code` : "`peerc explain` lists every code",
    );
  }
  const example = EXAMPLES[entry.code];
  if (options.format === "json") {
    io.stdout(
      JSON.stringify(
        {
          code: entry.code,
          severity: entry.severity,
          title: entry.title,
          docs: `docs/diagnostics.md#${entry.code.toLowerCase()}`,
          example: example
            ? { file: example.file, name: example.name, source: example.source, libs: example.libs, command: `peerc ${example.command} ${example.name}`, output: example.output }
            : null,
          fix: example?.fix ?? null,
          note: example ? null : (NO_EXAMPLE[entry.code] ?? null),
        },
        null,
        2,
      ) + "\n",
    );
    return EXIT_OK;
  }
  const out: string[] = [`${entry.code} (${entry.severity}): ${entry.title}`, ""];
  if (!example) {
    out.push(NO_EXAMPLE[entry.code] ?? "No example yet.");
  } else {
    out.push(`A spec that fails with it, ${example.name}:`, "", ...indent(example.source));
    for (const lib of example.libs) out.push(`which imports ${lib.file}:`, "", ...indent(lib.source));
    out.push(`\`peerc ${example.command} ${example.name}\` prints:`, "", ...indent(example.output));
    if (example.fix) out.push(`Fix: ${example.fix}`, "");
    else out.push("Fix: change the spec at the place the caret points to, as the message says.", "");
    out.push(`More: docs/diagnostics.md#${entry.code.toLowerCase()}`);
  }
  io.stdout(visible(out.join("\n")).trimEnd() + "\n");
  return EXIT_OK;
}

function indent(text: string): string[] {
  return [...text.trimEnd().split("\n").map((l) => (l.length ? `    ${l}` : "")), ""];
}
