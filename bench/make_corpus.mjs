#!/usr/bin/env node
// Deterministic mixed-text corpus for the tokenizer benchmark (no downloads).
//
//   node bench/make_corpus.mjs --out bench/out/corpus.txt [--bytes 12000000] [--seed 20250806]
//                              [--kinds prose,code,...]
//   node bench/make_corpus.mjs --unicode-sweep --out bench/out/unicode.txt
//
// The output is valid UTF-8 made of "documents" of one kind each, separated by
// a blank line. The same seed and byte target always give the same bytes
// (the generator uses only a seeded PRNG and integer arithmetic). With --kinds
// only those kinds are drawn (for per-kind measurements). A summary of the
// composition (bytes per kind) is printed to stderr, and as JSON next to the
// corpus (<out>.json).
//
// --unicode-sweep writes instead one line per code point U+0080..U+3FFFF and
// U+E0000..U+E01EF (no surrogates), each code point in several contexts
// (letters, digits, contraction, repetition). Benchmarked with --chunk 1
// (one chunk per line), a differing chunk names the code point it tests.
import { writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

// ---------------------------------------------------------------- arguments
const args = { out: "bench/out/corpus.txt", bytes: 12_000_000, seed: 20250806, kinds: "", sweep: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--unicode-sweep") {
    args.sweep = true;
    continue;
  }
  const m = /^--(out|bytes|seed|kinds)(?:=(.*))?$/.exec(a);
  if (!m) {
    console.error(`make_corpus: unknown argument ${a}`);
    process.exit(2);
  }
  const v = m[2] !== undefined ? m[2] : process.argv[++i];
  args[m[1]] = m[1] === "bytes" || m[1] === "seed" ? Number(v) : v;
}

// ---------------------------------------------------------------- PRNG (mulberry32)
let state = args.seed >>> 0;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1)); // inclusive
const pick = (arr) => arr[Math.floor(rand() * arr.length)];
const chance = (p) => rand() < p;
const repeat = (n, f) => Array.from({ length: n }, f);

// ---------------------------------------------------------------- word lists
const EN = (
  "the of and to in is was that for on with as by at from it this be are an or have not " +
  "which one had but were they all there their been has more if will would about time can " +
  "people other into some could them than first then its only new two also these may over " +
  "such after most years used between many where under system world state during part made " +
  "number those high while government because each through found however against both later " +
  "tokenizer model inference server request response latency throughput memory cache kernel " +
  "attention expert router weights quantization benchmark streaming channel message analysis " +
  "compiler function variable pointer allocation thread process network protocol interface " +
  "mountain river village harbour library garden winter summer morning evening history " +
  "remarkable unexpected quietly carefully extraordinary nevertheless approximately"
).split(" ");
const EN_PROPER = (
  "London Paris Berlin Tokyo Alice Bob Carol Dave Eve Mallory Quarry OpenAI Linux Debian " +
  "January February March April Monday Friday NASA HTTP JSON API GPU CPU McDonald O'Brien " +
  "iPhone JavaScript TypeScript PostgreSQL GitHub"
).split(" ");
const CONTRACTIONS = ["it's", "don't", "we're", "they've", "I'm", "you'll", "he'd", "can't", "isn't", "WE'RE", "IT'S", "She'll"];

const LATIN = {
  fr: "le la les des une est pas très déjà être où à ça français élève château forêt garçon hôpital naïve cœur noël façade théâtre événement première qu'il c'est l'été d'accord".split(" "),
  de: "der die das und ist nicht über für Mädchen Straße schön Größe Äpfel Öl Übung weiß Frühstück Donaudampfschifffahrtsgesellschaft Geschwindigkeitsbegrenzung Kühlschrank".split(" "),
  es: "el la los que de y en un ser niño año mañana señor corazón canción árbol está también pingüino acción ¿Dónde ¡Hola".split(" "),
  pt: "não são coração informação açúcar você também órgão pão irmã avó lição".split(" "),
  vi: "Tiếng Việt người những được không của một có này trong cho với các là đã và Hà Nội thành phố".split(" "),
  pl: "zażółć gęślą jaźń Łódź być się że jest który także źródło".split(" "),
  tr: "İstanbul ılık şehir çocuk güzel öğretmen ağaç ışık".split(" "),
};
const CYRILLIC = "и в не на я что он с как это по но они к у же вы за бы только её мне было вот от меня ещё нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет Москва Россия Україна здравствуйте пожалуйста программирование токенизатор".split(" ");
const GREEK = "και το η της του τα με σε για που από είναι δεν θα στο ένα αλλά Ελλάδα Αθήνα καλημέρα ευχαριστώ φιλοσοφία μαθηματικά ΑΛΦΑ ΩΜΕΓΑ".split(" ");
const ARABIC = "في من على إلى عن مع هذا هذه التي الذي كان كانت أن لا ما هو هي العربية اللغة مرحبا شكرا كتاب مدرسة الحاسوب الذكاء الاصطناعي القاهرة".split(" ");
const HINDI = "और के है में की को से यह एक पर भी हैं नहीं था कि लिए हिन्दी भाषा नमस्ते धन्यवाद भारत दिल्ली विज्ञान कंप्यूटर प्रोग्रामिंग".split(" ");
const THAI = "ภาษาไทย สวัสดี ขอบคุณ ประเทศไทย กรุงเทพมหานคร คอมพิวเตอร์ ปัญญาประดิษฐ์ การเขียนโปรแกรม และ ที่ ของ ใน เป็น มี ได้ ไม่ ให้ การ ความ".split(" ");
const CJK_ZH = "的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现与实点月把正此身东问".split("");
const JA_KANA = "これはテストですひらがなカタカナ日本語東京大阪ありがとうございますトークナイザーの性能を測定します".split("");
const KO = "안녕하세요 감사합니다 한국어 서울 대한민국 컴퓨터 프로그래밍 토크나이저 성능 측정 그리고 하지만 그래서 오늘 날씨가 좋습니다".split(" ");
const EMOJI = ["😀", "😂", "🥲", "😍", "🤔", "🙏", "👍", "👍🏽", "👋🏿", "🔥", "✨", "🎉", "🚀", "❤️", "⭐", "🍕", "🐍", "🦀", "🇺🇸", "🇯🇵", "🇩🇪", "🇧🇷",
  "👨‍👩‍👧‍👦", "👩‍💻", "👩🏽‍💻", "🧑‍🚀", "🏳️‍🌈", "🏴‍☠️", "👁️‍🗨️", "🧔‍♂️", "❤️‍🔥", "🐻‍❄️", "👨🏻‍🤝‍👨🏿", "🤷‍♀️", "1️⃣", "#️⃣", "©️", "™️"];

// ---------------------------------------------------------------- generators
function capitalize(w) {
  return w.charAt(0).toUpperCase() + w.slice(1);
}
function number() {
  switch (int(0, 5)) {
    case 0: return String(int(0, 99));
    case 1: return String(int(1000, 99999999));
    case 2: return `${int(0, 999)}.${int(0, 99)}`;
    case 3: return `${int(1, 9)},${String(int(0, 999)).padStart(3, "0")},${String(int(0, 999)).padStart(3, "0")}`;
    case 4: return `${int(1950, 2030)}-${String(int(1, 12)).padStart(2, "0")}-${String(int(1, 28)).padStart(2, "0")}`;
    default: return `${int(1, 100)}%`;
  }
}
function sentence(words) {
  const n = int(4, 22);
  const out = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.06) out.push(pick(EN_PROPER));
    else if (r < 0.1) out.push(number());
    else if (r < 0.13) out.push(pick(CONTRACTIONS));
    else out.push(pick(words));
    if (i + 1 < n && chance(0.08)) out[out.length - 1] += pick([",", ";", ":", " —", " -"]);
  }
  if (chance(0.05)) out[int(0, out.length - 1)] = `"${out[int(0, out.length - 1)]}"`;
  if (chance(0.04)) out.push(`(${pick(words)} ${pick(words)})`);
  out[0] = capitalize(out[0]);
  return out.join(" ") + pick([".", ".", ".", "?", "!", "...", "?!"]);
}
function prose() {
  const paras = int(1, 5);
  const out = [];
  for (let p = 0; p < paras; p++) {
    out.push(repeat(int(2, 8), () => sentence(EN)).join(" "));
  }
  if (chance(0.2)) out.unshift("# " + capitalize(pick(EN)) + " " + pick(EN) + " " + pick(EN));
  if (chance(0.2)) out.push(repeat(int(2, 6), () => `- ${sentence(EN)}`).join("\n"));
  return out.join(chance(0.1) ? "\r\n\r\n" : "\n\n");
}

const IDENT = "i j k n x y idx len count value result buffer tokens text piece rank offset size data node next prev cache map key hash begin end out err ctx self config request response".split(" ");
function ident() {
  const a = pick(IDENT);
  switch (int(0, 4)) {
    case 0: return a;
    case 1: return `${a}_${pick(IDENT)}`;
    case 2: return a + capitalize(pick(IDENT));
    case 3: return capitalize(a) + capitalize(pick(IDENT));
    default: return `${a.toUpperCase()}_${pick(IDENT).toUpperCase()}`;
  }
}
function expr() {
  switch (int(0, 6)) {
    case 0: return `${ident()} + ${int(0, 255)}`;
    case 1: return `${ident()}[${ident()}]`;
    case 2: return `${ident()}.${ident()}(${ident()}, ${number()})`;
    case 3: return `"${sentence(EN).slice(0, int(5, 40))}"`;
    case 4: return `0x${int(0, 0xffffff).toString(16).toUpperCase()}`;
    case 5: return `${ident()} * ${ident()} - ${int(1, 9)}`;
    default: return `std::min(${ident()}, ${ident()})`;
  }
}
function codeC(depth, indent) {
  const lines = [];
  const n = int(2, 8);
  for (let i = 0; i < n; i++) {
    const pad = indent.repeat(depth);
    const r = rand();
    if (r < 0.15 && depth < 4) {
      lines.push(`${pad}for (size_t ${ident()} = 0; ${ident()} < ${ident()}.size(); ++${ident()}) {`);
      lines.push(...codeC(depth + 1, indent));
      lines.push(`${pad}}`);
    } else if (r < 0.28 && depth < 4) {
      lines.push(`${pad}if (${ident()} != nullptr && ${ident()} >= ${int(0, 64)}) {`);
      lines.push(...codeC(depth + 1, indent));
      lines.push(`${pad}} else {`);
      lines.push(`${pad}${indent}return ${expr()};`);
      lines.push(`${pad}}`);
    } else if (r < 0.38) {
      lines.push(`${pad}// ${sentence(EN)}`);
    } else if (r < 0.45) {
      lines.push("");
    } else {
      lines.push(`${pad}${pick(["auto", "int", "const std::string&", "uint32_t", "size_t"])} ${ident()} = ${expr()};`);
    }
  }
  return lines;
}
function codePy(depth) {
  const lines = [];
  const n = int(2, 8);
  for (let i = 0; i < n; i++) {
    const pad = "    ".repeat(depth);
    const r = rand();
    if (r < 0.15 && depth < 4) {
      lines.push(`${pad}for ${ident()} in range(${int(1, 100)}):`);
      lines.push(...codePy(depth + 1));
    } else if (r < 0.25 && depth < 4) {
      lines.push(`${pad}if ${ident()} is not None and ${ident()} > ${number()}:`);
      lines.push(...codePy(depth + 1));
    } else if (r < 0.35) {
      lines.push(`${pad}# ${sentence(EN)}`);
    } else if (r < 0.4) {
      lines.push(`${pad}"""${sentence(EN)}\n${pad}${sentence(EN)}\n${pad}"""`);
    } else {
      lines.push(`${pad}${ident()} = ${pick(["self.", "", "cls."])}${ident()}(${ident()}, key=${JSON.stringify(pick(EN))})`);
    }
  }
  return lines;
}
function code() {
  if (chance(0.5)) {
    const indent = pick(["  ", "    ", "\t"]);
    const head = `${pick(["static ", "", "inline "])}${pick(["void", "int", "bool"])} ${ident()}(const std::vector<uint32_t>& ${ident()}, size_t ${ident()}) {`;
    return [`#include <${pick(["vector", "string", "cstdint", "algorithm"])}>`, "", head, ...codeC(1, indent), "}"].join("\n");
  }
  return [`def ${ident()}(${ident()}, ${ident()}=None):`, ...codePy(1)].join("\n");
}

function jsonValue(depth) {
  const r = rand();
  if (depth > 3 || r < 0.4) {
    switch (int(0, 6)) {
      case 0: return int(-1000, 100000);
      case 1: return Math.round(rand() * 1e6) / 1000;
      case 2: return chance(0.5);
      case 3: return null;
      case 4: return pick(LATIN.fr) + " " + pick(CYRILLIC);
      case 5: return `https://example.com/${pick(EN)}/${int(1, 9999)}?q=${pick(EN)}`;
      default: return sentence(EN).slice(0, int(3, 60));
    }
  }
  if (r < 0.6) return repeat(int(0, 6), () => jsonValue(depth + 1));
  const o = {};
  for (let i = int(1, 6); i > 0; i--) o[ident()] = jsonValue(depth + 1);
  return o;
}
function json() {
  const v = {};
  for (let i = int(2, 8); i > 0; i--) v[ident()] = jsonValue(0);
  const style = int(0, 2);
  let s = JSON.stringify(v, null, style === 0 ? undefined : style === 1 ? 2 : "\t");
  if (chance(0.2)) s = s.replace(/[^\x00-\x7f]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
  return s;
}

function tables() {
  const cols = int(3, 8);
  const rows = int(5, 40);
  const out = [repeat(cols, () => ident()).join(",")];
  for (let r = 0; r < rows; r++) out.push(repeat(cols, () => (chance(0.8) ? number() : pick(EN))).join(","));
  if (chance(0.3)) out.push(repeat(int(3, 30), () => String(int(0, 9))).join("") + String(int(0, 1e9)).repeat(int(1, 5)));
  return out.join("\n");
}

function urls() {
  const out = [];
  for (let i = int(5, 30); i > 0; i--) {
    const ts = `${int(2019, 2025)}-${String(int(1, 12)).padStart(2, "0")}-${String(int(1, 28)).padStart(2, "0")}T${String(int(0, 23)).padStart(2, "0")}:${String(int(0, 59)).padStart(2, "0")}:${String(int(0, 59)).padStart(2, "0")}.${int(100, 999)}Z`;
    const ip = `${int(1, 255)}.${int(0, 255)}.${int(0, 255)}.${int(0, 255)}`;
    const path = repeat(int(1, 5), () => pick(EN)).join("/");
    const url = `${pick(["https", "http"])}://${pick(["www.", "api.", "cdn.", ""])}${pick(EN)}-${pick(EN)}.${pick(["com", "org", "io", "dev", "co.uk"])}/${path}?${ident()}=${int(0, 1e6)}&${ident()}=${pick(EN)}%20${pick(EN)}#${pick(EN)}`;
    out.push(pick([
      `${ts} ${ip} "GET ${url}" ${pick([200, 201, 301, 404, 500])} ${int(0, 99999)} ${int(1, 999)}ms`,
      `See ${url} for details.`,
      `[${pick(EN)}](${url})`,
      `<a href="${url}">${pick(EN)} ${pick(EN)}</a>`,
      `user.${pick(EN)}+${int(1, 99)}@${pick(EN)}.example.org`,
    ]));
  }
  return out.join("\n");
}

function wordsText(words, sep, minN, maxN, punct) {
  const out = [];
  for (let s = int(2, 8); s > 0; s--) {
    const n = int(minN, maxN);
    out.push(repeat(n, () => pick(words)).join(sep) + pick(punct));
  }
  return out.join(sep === "" ? "" : " ");
}
function cjkRun(min, max) {
  return repeat(int(min, max), () => pick(CJK_ZH)).join("");
}
function multilingual() {
  switch (int(0, 10)) {
    case 0: {
      const lang = pick(Object.keys(LATIN));
      return repeat(int(1, 3), () => wordsText([...LATIN[lang], ...EN.slice(0, 20)], " ", 4, 16, [".", "!", "?"])).join("\n\n");
    }
    case 1: return wordsText(CYRILLIC, " ", 5, 18, [".", "!", "?", "…"]).replace(/^./, (c) => c.toUpperCase());
    case 2: return wordsText(GREEK, " ", 5, 16, [".", ";", "·"]);
    case 3: return wordsText(ARABIC, " ", 5, 16, [".", "؟", "،"]);
    case 4: return wordsText(HINDI, " ", 5, 16, ["।", "।", "?"]);
    case 5: return wordsText(THAI, "", 3, 12, [" ", "\n"]); // Thai: no spaces between words
    case 6: {
      const out = [];
      for (let i = int(3, 12); i > 0; i--) out.push(cjkRun(4, 30) + pick(["，", "。", "、", "！", "？", "：", "「", "」"]));
      return out.join("");
    }
    case 7: {
      const out = [];
      for (let i = int(3, 10); i > 0; i--) out.push(repeat(int(4, 25), () => pick(JA_KANA)).join("") + pick(["。", "、", "！"]));
      return out.join("");
    }
    case 8: return wordsText(KO, " ", 4, 14, [".", "?", "!"]);
    case 9: // code-switching inside one paragraph
      return repeat(int(5, 20), () => pick([pick(EN), pick(CYRILLIC), pick(GREEK), pick(ARABIC), pick(HINDI), pick(KO), cjkRun(2, 6), pick(LATIN.de), pick(THAI)])).join(" ") + ".";
    default: return `${sentence(EN)} (${pick(LATIN.fr)}: ${pick(CYRILLIC)}, ${cjkRun(2, 8)}, ${pick(KO)}) ${sentence(EN)}`;
  }
}

function emoji() {
  const out = [];
  for (let i = int(3, 15); i > 0; i--) {
    switch (int(0, 3)) {
      case 0: out.push(`${sentence(EN)} ${repeat(int(1, 4), () => pick(EMOJI)).join("")}`); break;
      case 1: out.push(repeat(int(3, 20), () => pick(EMOJI)).join(pick(["", " "]))); break;
      case 2: out.push(`${pick(EMOJI)} ${pick(KO)} ${pick(EMOJI)} ${pick(CYRILLIC)}!!! ${pick(EMOJI)}${pick(EMOJI)}`); break;
      default: out.push(`${pick(EN)}${pick(EMOJI)}${pick(EN)}`);
    }
  }
  return out.join("\n");
}

function whitespace() {
  const out = [];
  for (let i = int(3, 12); i > 0; i--) {
    switch (int(0, 6)) {
      case 0: out.push(" ".repeat(int(2, 120)) + pick(EN)); break;
      case 1: out.push("\t".repeat(int(1, 12)) + pick(IDENT) + " ".repeat(int(1, 40))); break;
      case 2: out.push("\n".repeat(int(2, 20))); break;
      case 3: out.push(repeat(int(2, 10), () => " \r\n").join("") + pick(EN)); break;
      case 4: out.push(`${pick(EN)}\u00a0${pick(EN)}\u3000${pick(KO)}\u2003${pick(EN)}\u202f%`); break;
      case 5: out.push(" ".repeat(int(1, 8)) + "\n" + " ".repeat(int(1, 8)) + pick(EN)); break;
      default: out.push(`${pick(EN)}   ${pick(EN)}\t\t${pick(EN)}  \n`);
    }
  }
  return out.join("");
}

// Long pre-tokenization pieces, bounded at a few KB: tiktoken's BPE is
// quadratic in the piece length, so a 100 KB piece would dominate the run.
function longPieces() {
  switch (int(0, 7)) {
    case 0: return " ".repeat(int(200, 3000)) + pick(EN);
    case 1: return pick(["a", "z", "x", "ab", "ha"]).repeat(int(100, 1500));
    case 2: return pick(["=", "-", "*", "#", "~", "_"]).repeat(int(100, 2000));
    case 3: return cjkRun(200, 800); // CJK without punctuation is one piece
    case 4: return repeat(int(20, 80), () => pick(THAI)).join("");
    case 5: {
      // base64-ish blob in 76-column lines
      const A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      const s = repeat(int(500, 4000), () => A[int(0, 63)]).join("");
      return s.replace(/(.{76})/g, "$1\n");
    }
    case 6: return repeat(int(50, 300), () => pick(EN)).join("_"); // snake_case monster identifier
    default: return repeat(int(60, 400), () => pick(LATIN.de).toLowerCase()).join(""); // German-style compound
  }
}

const KINDS = {
  prose: { weight: 28, gen: prose },
  code: { weight: 18, gen: code },
  json: { weight: 10, gen: json },
  numbers: { weight: 5, gen: tables },
  urls: { weight: 7, gen: urls },
  multilingual: { weight: 20, gen: multilingual },
  emoji: { weight: 4, gen: emoji },
  whitespace: { weight: 3, gen: whitespace },
  long: { weight: 3, gen: longPieces },
};

// ---------------------------------------------------------------- main
if (args.sweep) {
  const lines = [];
  for (const [lo, hi] of [[0x80, 0x3ffff], [0xe0000, 0xe01ef]]) {
    for (let cp = lo; cp <= hi; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      const u = "U+" + cp.toString(16).toUpperCase().padStart(4, "0");
      lines.push(`${u} a${c}a A${c}A ${c}1 1${c}1 ${c}${c} x ${c}'s ${c}'S\n`);
    }
  }
  const sweep = Buffer.from(lines.join(""), "utf8");
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, sweep);
  console.error(`unicode sweep: ${lines.length} code points, ${sweep.length} bytes -> ${args.out}`);
  process.exit(0);
}
let names = Object.keys(KINDS);
if (args.kinds) {
  names = args.kinds.split(",");
  for (const k of names) {
    if (!KINDS[k]) {
      console.error(`make_corpus: unknown kind ${k} (known: ${Object.keys(KINDS).join(",")})`);
      process.exit(2);
    }
  }
}
const totalWeight = names.reduce((s, k) => s + KINDS[k].weight, 0);
// Weights are shares of the output bytes (documents differ in size by kind):
// draw by weight, but redraw a kind that is already above its share.
function drawKind() {
  for (;;) {
    let r = rand() * totalWeight;
    let k = names[names.length - 1];
    for (const name of names) {
      r -= KINDS[name].weight;
      if (r < 0) {
        k = name;
        break;
      }
    }
    if (stats[k].bytes <= (KINDS[k].weight / totalWeight) * total) return k;
  }
}

const parts = [];
const stats = Object.fromEntries(names.map((k) => [k, { docs: 0, bytes: 0 }]));
let total = 0;
while (total < args.bytes) {
  const k = drawKind();
  const doc = KINDS[k].gen() + "\n\n";
  const n = Buffer.byteLength(doc, "utf8");
  parts.push(doc);
  stats[k].docs++;
  stats[k].bytes += n;
  total += n;
}
const buf = Buffer.from(parts.join(""), "utf8");
mkdirSync(dirname(args.out), { recursive: true });
writeFileSync(args.out, buf);
const summary = { seed: args.seed, bytes: buf.length, kinds: stats };
writeFileSync(args.out + ".json", JSON.stringify(summary, null, 2) + "\n");
for (const [k, s] of Object.entries(stats)) {
  console.error(`${k.padEnd(13)} ${String(s.docs).padStart(6)} docs ${String(s.bytes).padStart(9)} bytes ${((100 * s.bytes) / buf.length).toFixed(1).padStart(5)}%`);
}
console.error(`total ${buf.length} bytes -> ${args.out}`);
