/**
 * The nested weights object of an emitted model, from the kinds' weight
 * manifests: "blocks.3.mixer.attention.wq" is `w.blocks[3].mixer.attention.wq`,
 * a level whose names are exactly 0 … n−1 is an array (blocks, MoE experts) —
 * the same rule as the runtime's `weightTree`, which binds the live tensors.
 * Renders the TypeScript types of that object: one named interface per
 * distinct layer or block node, inline object types below them.
 */
import type { IRModel } from "../../ir/types.js";
import type { WeightRole } from "../../kinds/manifest.js";
import { layerManifest } from "./kind-emitters.js";
import { shapeLit } from "./code.js";
import { propertyKey } from "./strings.js";
import type { NameScope } from "./names.js";

export interface WeightLeaf {
  readonly leaf: true;
  readonly role: WeightRole;
  readonly shape: readonly number[];
}

export interface WeightNode {
  readonly leaf: false;
  readonly children: Map<string, WeightLeaf | WeightNode>;
}

export interface ModelWeights {
  readonly root: WeightNode;
  /** How many tensors the runtime binds (variables, buffers and expert tables). */
  readonly count: number;
}

function branch(): WeightNode {
  return { leaf: false, children: new Map() };
}

export function modelWeights(model: IRModel): ModelWeights {
  const root = branch();
  let count = 0;
  for (const layer of model.layers) {
    for (const spec of layerManifest(layer)) {
      const parts = `${layer.path}.${spec.name}`.split(".");
      let node = root;
      for (const part of parts.slice(0, -1)) {
        let next = node.children.get(part);
        if (next === undefined) node.children.set(part, (next = branch()));
        if (next.leaf) throw new Error(`${layer.path}.${spec.name}: a weight name is a prefix of another`);
        node = next;
      }
      const last = parts[parts.length - 1]!;
      if (node.children.has(last)) throw new Error(`${layer.path}.${spec.name}: a weight name is a prefix of another`);
      node.children.set(last, { leaf: true, role: spec.role, shape: spec.shape });
      count++;
    }
  }
  return { root, count };
}

/** The node at a dotted path below `root`, or undefined. */
export function nodeAt(root: WeightNode, dotted: string): WeightNode | undefined {
  let node: WeightNode | WeightLeaf | undefined = root;
  for (const part of dotted.split(".")) {
    if (node === undefined || node.leaf) return undefined;
    node = node.children.get(part);
  }
  return node === undefined || node.leaf ? undefined : node;
}

/** Children named 0 … n−1 (in any order): the node is an array. */
function isArray(node: WeightNode): boolean {
  const keys = [...node.children.keys()];
  return keys.length > 0 && keys.every((k) => /^(0|[1-9][0-9]*)$/.test(k) && Number(k) < keys.length);
}

function leafComment(leaf: WeightLeaf): string {
  const role = leaf.role === "buffer" ? " (buffer, not trained)" : leaf.role === "expert_table" ? " (expert table, on the host)" : "";
  return `/** ${shapeLit(leaf.shape)}${role} */`;
}

/**
 * Types of weight nodes. `name(node, proposal)` gives a node a named interface
 * (a layer's or a block's): nodes with the same body share the first name.
 */
export class WeightTypes {
  private readonly named = new Map<string, string>();
  private readonly declarations: string[] = [];

  constructor(private readonly scope: NameScope) {}

  /** The interface name for `node`, declared on first use; `proposal` is a PascalCase base name. */
  name(node: WeightNode, proposal: string): string {
    const body = this.objectBody(node);
    const known = this.named.get(body);
    if (known) {
      this.given.set(node, known);
      return known;
    }
    const name = this.scope.claim(proposal, "pascal");
    this.named.set(body, name);
    this.given.set(node, name);
    this.declarations.push(`interface ${name} ${body}`);
    return name;
  }

  /** Declares the root interface under a fixed name (its children named before). */
  declare(node: WeightNode, name: string, doc: string): void {
    this.declarations.push(`${doc}\ninterface ${name} ${this.objectBody(node)}`);
  }

  /** Interface declarations in the order they were named (children before parents). */
  get text(): readonly string[] {
    return this.declarations;
  }

  private typeOf(child: WeightNode | WeightLeaf, names: ReadonlyMap<WeightNode, string>, indent: string): string {
    if (child.leaf) return child.role === "expert_table" ? "ExpertTable" : "tf.Variable";
    const given = names.get(child);
    if (given) return given;
    if (isArray(child)) {
      const items = [...child.children.entries()].sort(([a], [b]) => Number(a) - Number(b)).map(([, c]) => this.typeOf(c, names, indent));
      return items.every((t) => t === items[0]) ? `readonly ${items[0]!.startsWith("{") ? `(${items[0]})` : items[0]}[]` : `readonly [${items.join(", ")}]`;
    }
    return this.objectBody(child, names, indent);
  }

  private readonly given = new Map<WeightNode, string>();

  /** Marks `node` as typed by `name` wherever it appears below a later node. */
  use(node: WeightNode, name: string): void {
    this.given.set(node, name);
  }

  private objectBody(node: WeightNode, names: ReadonlyMap<WeightNode, string> = this.given, indent = ""): string {
    const inner = indent + "  ";
    const fields = [...node.children.entries()].map(([key, child]) => {
      const comment = child.leaf ? leafComment(child) + " " : "";
      const prop = /^(0|[1-9][0-9]*)$/.test(key) ? key : propertyKey(key);
      return `${inner}${comment}readonly ${prop}: ${this.typeOf(child, names, inner)};`;
    });
    return `{\n${fields.join("\n")}\n${indent}}`;
  }
}
