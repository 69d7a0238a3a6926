#!/usr/bin/env node
// Encode throughput of npm `tiktoken` (OpenAI's Rust core as WebAssembly) on
// the same corpus and chunks as quarry_tokenizer_bench; prints the same JSON
// fields.
//
//   node bench/tiktoken_bench.mjs --corpus bench/out/corpus.txt [--chunk 4096] [--reps 5]
//        [--warmup 1] [--limit BYTES] [--compare HASHES_FILE]
//
// Chunks: a chunk ends with the first '\n' at or after `chunk` bytes from its
// start (the rest of the file if there is none), cut on the UTF-8 bytes, so
// both benchmarks see identical texts; --chunk 0 is the whole corpus as one
// string. Each chunk is decoded to a JS string once, before timing; timing
// covers encode_ordinary() (which includes tiktoken's own UTF-16 -> UTF-8 copy
// into WASM memory, a cost every JS caller pays). --compare reads the per-chunk
// "<tokens> <hash>" file written by quarry_tokenizer_bench --hashes and reports
// the first chunks that differ.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "tools", "package.json"));
const { get_encoding } = require("tiktoken");

const opt = { corpus: "", chunk: 4096, reps: 5, warmup: 1, limit: 0, compare: "" };
for (let i = 2; i < process.argv.length; i++) {
  const m = /^--(corpus|chunk|reps|warmup|limit|compare)$/.exec(process.argv[i]);
  if (!m || i + 1 >= process.argv.length) {
    console.error(`tiktoken_bench: bad argument ${process.argv[i]}`);
    process.exit(2);
  }
  const v = process.argv[++i];
  opt[m[1]] = m[1] === "corpus" || m[1] === "compare" ? v : Number(v);
}
if (!opt.corpus) {
  console.error("tiktoken_bench: --corpus is required");
  process.exit(2);
}

// The same rule as make_chunks() in tokenizer_bench.cpp.
function chunks(buf, chunk) {
  if (chunk === 0) return [buf];
  const out = [];
  let s = 0;
  while (s < buf.length) {
    const nl = buf.indexOf(0x0a, s + chunk - 1);
    const e = nl < 0 ? buf.length : nl + 1;
    out.push(buf.subarray(s, e));
    s = e;
  }
  return out;
}

function fnv1a(h, ids) {
  for (let i = 0; i < ids.length; i++) h = Math.imul(h ^ ids[i], 16777619) >>> 0;
  return h;
}
const hex = (h) => h.toString(16).padStart(8, "0");

const t0 = performance.now();
const enc = get_encoding("o200k_base");
const loadS = (performance.now() - t0) / 1000;

let buf = readFileSync(opt.corpus);
if (opt.limit > 0 && opt.limit < buf.length) {
  const nl = buf.indexOf(0x0a, opt.limit - 1);
  if (nl >= 0) buf = buf.subarray(0, nl + 1);
}
const decoder = new TextDecoder("utf-8", { fatal: true });
const texts = chunks(buf, opt.chunk).map((b) => decoder.decode(b));

// Untimed reference pass.
let tokens = 0;
let hash = 2166136261;
const perChunk = [];
for (const t of texts) {
  const ids = enc.encode_ordinary(t);
  tokens += ids.length;
  hash = fnv1a(hash, ids);
  perChunk.push(`${ids.length} ${hex(fnv1a(2166136261, ids))}`);
}

let compare = null;
if (opt.compare) {
  const theirs = readFileSync(opt.compare, "utf8").split("\n").filter((l) => l.length > 0);
  const bad = [];
  for (let i = 0; i < Math.max(theirs.length, perChunk.length); i++) {
    if (theirs[i] !== perChunk[i]) bad.push(i);
  }
  compare = { chunks_compared: theirs.length, chunks_differing: bad.length, first_differing: bad.slice(0, 10) };
  if (bad.length > 0) {
    for (const i of bad.slice(0, 5)) {
      const t = texts[i] === undefined ? "" : texts[i];
      const shown = JSON.stringify(t.length > 160 ? t.slice(0, 160) + "..." : t);
      console.error(`tiktoken_bench: chunk ${i} differs: quarry "${theirs[i]}" tiktoken "${perChunk[i]}" text ${shown}`);
    }
  }
}

function runOnce() {
  let n = 0;
  for (const t of texts) n += enc.encode_ordinary(t).length;
  return n;
}
let sink = 0;
for (let i = 0; i < opt.warmup; i++) sink += runOnce();
const times = [];
const cpuTimes = []; // process CPU time (user + system, all of V8's threads)
for (let i = 0; i < opt.reps; i++) {
  const c = process.cpuUsage();
  const s = performance.now();
  sink += runOnce();
  times.push((performance.now() - s) / 1000);
  const d = process.cpuUsage(c);
  cpuTimes.push((d.user + d.system) / 1e6);
}
if (sink !== tokens * (opt.warmup + opt.reps)) {
  console.error("tiktoken_bench: repetitions disagree on the count");
  process.exit(1);
}
enc.free();
const medianOf = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const best = Math.min(...times);
const median = medianOf(times);
const medianCpu = medianOf(cpuTimes);
const mb = buf.length / 1e6;
const out = {
  impl: "tiktoken",
  mode: "encode",
  bytes: buf.length,
  chunk: opt.chunk,
  chunks: texts.length,
  tokens,
  hash: hex(hash),
  reps: opt.reps,
  load_s: +loadS.toFixed(3),
  best_s: +best.toFixed(4),
  median_s: +median.toFixed(4),
  mb_per_s: +(mb / median).toFixed(2),
  mb_per_s_best: +(mb / best).toFixed(2),
  tokens_per_s: Math.round(tokens / median),
  median_cpu_s: +medianCpu.toFixed(4),
  mb_per_s_cpu: +(mb / medianCpu).toFixed(2),
  tokens_per_s_cpu: Math.round(tokens / medianCpu),
};
if (compare) out.compare = compare;
console.log(JSON.stringify(out));
if (compare && compare.chunks_differing > 0) process.exit(3);
