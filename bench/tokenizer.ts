/**
 * Tokenizer benchmark: BPE training time and encode/decode throughput of
 * runtime/data on (1) the built-in corpus, (2) 1 MiB and (3) 20 MiB of
 * generated Zipf-distributed pseudo-English (a 30,000-word lexicon built from
 * syllables, so a 4096 vocabulary fills up). Prints a table.
 *
 *   npx tsx bench/tokenizer.ts
 */
import { Rng, builtinCorpus, trainBpe } from "../runtime/data/index.js";

const MIB = 1 << 20;

function pseudoEnglish(bytes: number, seed: number): Uint8Array {
  const rng = Rng.fromSeed(seed);
  const onsets = ["", "b", "c", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "v", "w", "br", "ch", "st", "th", "tr", "pl", "sh"];
  const vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "ie"];
  const codas = ["", "", "n", "r", "s", "t", "l", "nd", "st", "ng", "ck"];
  const syllable = (): string => onsets[rng.nextInt(onsets.length)] + vowels[rng.nextInt(vowels.length)] + codas[rng.nextInt(codas.length)];
  const lexicon = Array.from({ length: 30_000 }, () => Array.from({ length: 1 + rng.nextInt(3) }, syllable).join(""));
  // Zipf(1): cumulative weights 1/rank, sampled by binary search.
  const cumulative = new Float64Array(lexicon.length);
  let total = 0;
  for (let i = 0; i < lexicon.length; i++) cumulative[i] = total += 1 / (i + 1);
  const word = (): string => {
    const x = rng.nextFloat() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lexicon[lo];
  };
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const n = 5 + rng.nextInt(11);
    const words = Array.from({ length: n }, word);
    words[0] = words[0][0].toUpperCase() + words[0].slice(1);
    if (rng.nextInt(5) === 0) words.splice(1 + rng.nextInt(n - 1), 0, String(rng.nextInt(2000)));
    const sentence = words.join(" ") + (rng.nextInt(6) === 0 ? "?" : ".") + (rng.nextInt(8) === 0 ? "\n" : " ");
    parts.push(sentence);
    size += sentence.length;
  }
  return new TextEncoder().encode(parts.join("").slice(0, bytes));
}

const seconds = (f: () => void): number => {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
};

interface Row {
  corpus: string;
  size: string;
  vocab: number;
  train: string;
  cold: string;
  warm: string;
  decode: string;
  bytesPerToken: string;
}

function bench(name: string, data: Uint8Array, vocab: number): Row {
  let tok = trainBpe([data.subarray(0, 1024)], { vocabSize: 260 }); // warm up the JIT
  const trainSeconds = seconds(() => (tok = trainBpe([data], { vocabSize: vocab })));
  let ids = new Uint32Array(0);
  const coldSeconds = seconds(() => (ids = tok.encode(data)));
  const warmSeconds = seconds(() => tok.encode(data));
  let back = new Uint8Array(0);
  const decodeSeconds = seconds(() => (back = tok.decode(ids)));
  if (Buffer.compare(Buffer.from(back), Buffer.from(data)) !== 0) throw new Error(`${name}: round trip failed`);
  const mib = data.length / MIB;
  return {
    corpus: name,
    size: `${mib.toFixed(2)} MiB`,
    vocab: tok.vocabSize,
    train: `${trainSeconds.toFixed(2)} s`,
    cold: (mib / coldSeconds).toFixed(1),
    warm: (mib / warmSeconds).toFixed(1),
    decode: (mib / decodeSeconds).toFixed(0),
    bytesPerToken: (data.length / ids.length).toFixed(2),
  };
}

const rows = [
  bench("built-in corpus", builtinCorpus(), 4096),
  bench("pseudo-English", pseudoEnglish(MIB, 1), 4096),
  bench("pseudo-English", pseudoEnglish(20 * MIB, 2), 4096),
];
console.log(`node ${process.version}, ${process.arch}`);
console.log("| corpus | size | vocab reached | BPE train | encode MiB/s (cold cache) | encode MiB/s (warm) | decode MiB/s | bytes/token |");
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(`| ${r.corpus} | ${r.size} | ${r.vocab} | ${r.train} | ${r.cold} | ${r.warm} | ${r.decode} | ${r.bytesPerToken} |`);
}
