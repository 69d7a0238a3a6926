#!/usr/bin/env bash
# Tokenizer encode throughput: Quarry vs npm tiktoken (WASM), same corpus,
# same chunks, interleaved rounds; prints both and the ratio Quarry/tiktoken.
# Assumes scripts/setup.sh has run (rank table + tools/node_modules).
#
#   bench/run_tokenizer_bench.sh [--rounds N] [--reps N] [--bytes N] [--chunk N] [--per-kind]
#
# Environment: BUILD_DIR (default build-bench), JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3
REPS=3
BYTES=12000000
CHUNK=4096
PER_KIND=0
while (($#)); do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --bytes) BYTES=$2; shift 2 ;;
    --chunk) CHUNK=$2; shift 2 ;;
    --per-kind) PER_KIND=1; shift ;;
    *) echo "run_tokenizer_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

BUILD_DIR=${BUILD_DIR:-build-bench}
JOBS=${JOBS:-2}
RANKS=third_party/o200k/o200k_base.tiktoken
OUT=bench/out
BIN=$BUILD_DIR/bin/quarry_tokenizer_bench

[[ -f $RANKS ]] || { echo "run_tokenizer_bench: $RANKS missing; run scripts/setup.sh" >&2; exit 1; }
[[ -d tools/node_modules/tiktoken ]] ||
  { echo "run_tokenizer_bench: tools/node_modules/tiktoken missing; run scripts/setup.sh" >&2; exit 1; }

# Build only the benchmark target (other targets may be mid-edit).
if [[ ! -f $BUILD_DIR/build.ninja && ! -f $BUILD_DIR/Makefile ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQUARRY_TESTS=OFF \
    -DQUARRY_BENCH=ON >/dev/null
fi
cmake --build "$BUILD_DIR" -j"$JOBS" --target quarry_tokenizer_bench

mkdir -p "$OUT"
node bench/make_corpus.mjs --out "$OUT/corpus.txt" --bytes "$BYTES"

# Prints the summary of one set of rounds (JSON lines in $1).
summarize() {
  node - "$1" <<'EOF'
const lines = require("fs").readFileSync(process.argv[2], "utf8").trim().split("\n").map(JSON.parse);
const med = (a) => { const s = [...a].sort((x, y) => x - y); const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const q = lines.filter((l) => l.impl === "quarry"), t = lines.filter((l) => l.impl === "tiktoken");
const f = (x) => x.toFixed(2);
console.log(`corpus ${q[0].bytes} bytes, ${q[0].chunks} chunks of ~${q[0].chunk} bytes, ${q.length} rounds`);
for (const [what, key, tkey] of [["wall-clock", "mb_per_s", "tokens_per_s"], ["CPU time", "mb_per_s_cpu", "tokens_per_s_cpu"]]) {
  const ratios = q.map((l, i) => l[key] / t[i][key]);
  console.log(`[${what}]`);
  console.log(`  quarry   MB/s per round: ${q.map((l) => f(l[key])).join(" ")}  median ${f(med(q.map((l) => l[key])))}  ` +
              `tokens/s median ${Math.round(med(q.map((l) => l[tkey])))}`);
  console.log(`  tiktoken MB/s per round: ${t.map((l) => f(l[key])).join(" ")}  median ${f(med(t.map((l) => l[key])))}  ` +
              `tokens/s median ${Math.round(med(t.map((l) => l[tkey])))}`);
  console.log(`  ratio quarry/tiktoken per round: ${ratios.map(f).join(" ")}  median ${f(med(ratios))}`);
}
const same = q.every((l) => l.tokens === t[0].tokens && l.hash === t[0].hash) &&
             t.every((l) => l.tokens === t[0].tokens && l.hash === t[0].hash);
console.log(`tokens: quarry ${q[0].tokens} (hash ${q[0].hash}), tiktoken ${t[0].tokens} (hash ${t[0].hash}): ` +
            (same ? "EQUAL" : "MISMATCH"));
if (!same) process.exit(3);
EOF
}

# Interleaved rounds: quarry, then tiktoken, ROUNDS times. Round 1 also
# compares the ids chunk by chunk (hash per chunk).
run_rounds() {  # corpus results-file
  local corpus=$1 res=$2
  : >"$res"
  for ((r = 1; r <= ROUNDS; r++)); do
    local hashes=() compare=()
    if ((r == 1)); then
      hashes=(--hashes "$OUT/quarry.hashes")
      compare=(--compare "$OUT/quarry.hashes")
    fi
    "$BIN" --ranks "$RANKS" --corpus "$corpus" --chunk "$CHUNK" --reps "$REPS" "${hashes[@]}" |
      tee -a "$res"
    node bench/tiktoken_bench.mjs --corpus "$corpus" --chunk "$CHUNK" --reps "$REPS" \
      "${compare[@]}" | tee -a "$res"
  done
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg); node $(node --version)," \
  "tiktoken $(node -p 'require("./tools/node_modules/tiktoken/package.json").version')"
run_rounds "$OUT/corpus.txt" "$OUT/results.jsonl"
echo
summarize "$OUT/results.jsonl"

if ((PER_KIND)); then
  echo
  for k in prose code json numbers urls multilingual emoji whitespace long; do
    node bench/make_corpus.mjs --out "$OUT/kind_$k.txt" --bytes 1000000 --kinds "$k" 2>/dev/null
    run_rounds "$OUT/kind_$k.txt" "$OUT/results_$k.jsonl" >/dev/null
    echo "== $k"
    summarize "$OUT/results_$k.jsonl"
  done
fi
