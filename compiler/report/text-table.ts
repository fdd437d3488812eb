/** Plain aligned text columns (numbers right-aligned) and GitHub-flavoured markdown tables. */

export interface Column {
  readonly title: string;
  readonly align: "left" | "right";
}

export function textTable(columns: readonly Column[], rows: readonly (readonly string[])[], bold: (s: string) => string = (s) => s): string {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => [...(r[i] ?? "")].length)));
  const cell = (text: string, i: number) => {
    const pad = " ".repeat(Math.max(0, widths[i]! - [...text].length));
    return columns[i]!.align === "right" ? pad + text : text + pad;
  };
  const line = (cells: readonly string[]) => cells.map(cell).join("  ").trimEnd();
  const rule = "─".repeat(widths.reduce((s, w) => s + w, 0) + 2 * (widths.length - 1));
  return [bold(line(columns.map((c) => c.title))), rule, ...rows.map(line), rule].join("\n");
}

function escapeMd(text: string): string {
  return text.replace(/\|/g, "\\|");
}

export function mdTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const head = `| ${columns.map((c) => escapeMd(c.title)).join(" | ")} |`;
  const sep = `|${columns.map((c) => (c.align === "right" ? "---:" : ":---")).join("|")}|`;
  return [head, sep, ...rows.map((r) => `| ${r.map(escapeMd).join(" | ")} |`)].join("\n");
}
