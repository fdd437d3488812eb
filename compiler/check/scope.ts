/**
 * Name scopes. A file's global scope holds its top-level lets and blocks plus
 * those of the files it imports; bodies (model, block, repeat, if, residual)
 * open child scopes. Top-level lets are evaluated lazily, once per variant.
 */
import type { BlockDecl, Identifier, LetDecl, LetStatement } from "../../grammar/ast.js";
import type { Value } from "./values.js";

export type Binding =
  | { readonly kind: "let"; readonly name: Identifier; readonly decl: LetDecl; readonly file: FileScope }
  | { readonly kind: "local"; readonly name: Identifier; readonly decl: LetStatement; readonly value: Value }
  | { readonly kind: "param"; readonly name: Identifier; readonly value: Value }
  | { readonly kind: "index"; readonly name: Identifier; readonly value: Value }
  | { readonly kind: "block"; readonly name: Identifier; readonly decl: BlockDecl; readonly file: FileScope };

export interface Scope {
  lookup(name: string): Binding | undefined;
}

/** The names a file sees: its own declarations and everything its imports see. */
export class FileScope implements Scope {
  /** Own and imported names; each binding remembers its file. */
  readonly names = new Map<string, Binding>();
  constructor(readonly path: string) {}
  lookup(name: string): Binding | undefined {
    return this.names.get(name);
  }
}

export class LocalScope implements Scope {
  private readonly names = new Map<string, Binding>();
  constructor(readonly parent: Scope) {}
  lookup(name: string): Binding | undefined {
    return this.names.get(name) ?? this.parent.lookup(name);
  }
  /** The binding of `name` made in this very scope, if any (for "already defined"). */
  own(name: string): Binding | undefined {
    return this.names.get(name);
  }
  define(binding: Binding): void {
    this.names.set(binding.name.name, binding);
  }
}
