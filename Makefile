# Quarry: `make` builds the release CLI at build/bin/quarry; `make test` sets up,
# builds, and runs every test (unit, fuzz-corpus replay, ASan+UBSan unit tests).
JOBS ?= $(shell nproc)
CMAKE_GEN := -G Ninja

.PHONY: all setup release run test fuzz bench clean

all: release

setup:
	./scripts/setup.sh

release: setup
	cmake -S . -B build $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DQUARRY_TESTS=ON
	cmake --build build -j $(JOBS)

# The main job: the server on http://127.0.0.1:$(PORT) with the default model
# (a small random-weight demo model synthesized once into ~/.cache/quarry;
# serve real weights with `build/bin/quarry serve --model path/to/gpt-oss-20b`).
PORT ?= 8080
run: setup
	cmake -S . -B build $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release
	cmake --build build -j $(JOBS) --target quarry
	build/bin/quarry serve --port $(PORT)

test:
	./scripts/test.sh

# libFuzzer targets (clang-16); FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
fuzz: setup
	./scripts/fuzz.sh $(FUZZ_SECONDS)

bench: release
	./bench/run_tokenizer_bench.sh

clean:
	rm -rf build build-asan build-fuzz
