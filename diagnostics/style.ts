/** ANSI styling for the human format; every function is the identity when colour is off. */
import type { Severity } from "./diagnostic.js";

export interface Palette {
  severity(severity: Severity, text: string): string;
  bold(text: string): string;
  accent(text: string): string;
  help(text: string): string;
  underline(severity: Severity, primary: boolean, text: string): string;
}

const wrap = (open: string, text: string) => `\u001b[${open}m${text}\u001b[0m`;
const SEVERITY_COLOR: Record<Severity, string> = { error: "31", warning: "33", note: "36" };

export function paint(color: boolean): Palette {
  if (!color) {
    const id = (...args: string[]) => args[args.length - 1]!;
    return { severity: id, bold: id, accent: id, help: id, underline: (_s, _p, t) => t };
  }
  return {
    severity: (s, t) => wrap(`1;${SEVERITY_COLOR[s]}`, t),
    bold: (t) => wrap("1", t),
    accent: (t) => wrap("1;34", t),
    help: (t) => wrap("1;36", t),
    underline: (s, primary, t) => wrap(primary ? `1;${SEVERITY_COLOR[s]}` : "1;34", t),
  };
}
