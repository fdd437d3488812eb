/**
 * Chevrotain, loaded from its single-file bundle. The package's entry point is
 * about 60 ES modules and costs ~290 ms to import on these machines; the
 * bundle shipped beside it (lib/chevrotain.mjs, the same code) costs ~12 ms,
 * which is most of `peerc check`'s start-up. The package's "exports" map does
 * not list the bundle, so it is located through the entry point's path.
 */
import { createRequire } from "node:module";
import * as path from "node:path";
import { pathToFileURL } from "node:url";

type Chevrotain = typeof import("chevrotain");

async function load(): Promise<Chevrotain> {
  try {
    const entry = createRequire(import.meta.url).resolve("chevrotain");
    // entry is <package>/lib/src/api.js; the bundle is <package>/lib/chevrotain.mjs.
    const bundle = path.join(path.dirname(entry), "..", "chevrotain.mjs");
    return (await import(pathToFileURL(bundle).href)) as Chevrotain;
  } catch {
    // A future layout without the bundle: the regular entry point works, only slower.
    return import("chevrotain");
  }
}

const chevrotain = await load();

export const { createToken, Lexer, CstParser, EOF } = chevrotain;
export type {
  CstChildrenDictionary,
  CstElement,
  CstNode,
  IParserErrorMessageProvider,
  IRecognitionException,
  IToken,
  TokenType,
} from "chevrotain";
