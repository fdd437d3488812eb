/**
 * The one catalog of diagnostic codes, in code order: syntax (E00xx), checker
 * (E01xx–E05xx, W-codes) and budgets (E06xx). docs/diagnostics.md and
 * `peerc explain` read this list; a test fails when a code is missing from either.
 */
import type { CatalogEntry } from "../diagnostic.js";
import { BUDGET_CATALOG } from "./budget.js";
import { CHECK_CATALOG } from "./check.js";
import { SYNTAX_CODES } from "./syntax.js";

export const CATALOG: readonly CatalogEntry[] = [...SYNTAX_CODES, ...CHECK_CATALOG, ...BUDGET_CATALOG];

export function catalogEntry(code: string): CatalogEntry | undefined {
  return CATALOG.find((e) => e.code === code.toUpperCase());
}
