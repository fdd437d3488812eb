/**
 * Mutations of valid specs for robustness tests (also used by bench/fuzz-check.ts):
 * truncate, delete, duplicate or swap tokens, insert random bytes or a
 * random punctuation character. `rng` returns floats in [0, 1).
 */
export type Rng = () => number;

const PIECE = /\s+|\/\/[^\n]*|"(?:[^"\\\n]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|[0-9][0-9A-Za-z_.%]*|\S/g;
const PUNCTUATION = ["(", ")", "[", "]", "{", "}", ",", ":", ";", "=", "^", "*", "**", "-", "%", "\"", "/*", "\\", "\n", "if", "else", "model"];

function pick<X>(items: readonly X[], rng: Rng): X {
  return items[Math.floor(rng() * items.length)]!;
}

/** Splits into pieces (tokens and whitespace), so that joining them gives the text back. */
export function pieces(text: string): string[] {
  return text.match(PIECE) ?? [];
}

export function mutateSpec(text: string, rng: Rng): string {
  const parts = pieces(text);
  if (parts.length === 0) return String.fromCharCode(Math.floor(rng() * 65536));
  const i = Math.floor(rng() * parts.length);
  const j = Math.floor(rng() * parts.length);
  switch (Math.floor(rng() * 7)) {
    case 0:
      return text.slice(0, Math.floor(rng() * text.length));
    case 1:
      parts.splice(i, 1);
      break;
    case 2:
      parts.splice(i, 0, parts[i]!);
      break;
    case 3: {
      const t = parts[i]!;
      parts[i] = parts[j]!;
      parts[j] = t;
      break;
    }
    case 4: {
      let bytes = "";
      const n = 1 + Math.floor(rng() * 4);
      for (let k = 0; k < n; k++) bytes += String.fromCharCode(Math.floor(rng() * 65536));
      parts.splice(i, 0, bytes);
      break;
    }
    case 5:
      parts.splice(i, 0, pick(PUNCTUATION, rng));
      break;
    default:
      parts[i] = pick(PUNCTUATION, rng);
      break;
  }
  return parts.join("");
}
