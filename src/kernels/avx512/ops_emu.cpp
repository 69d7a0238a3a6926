// ops.cpp once more, as the avx512_emu table over raw_emu.cpp.
#define QUARRY_AVX512_NS avx512_emu
#define QUARRY_AVX512_EMU
#include "kernels/avx512/ops.cpp"  // NOLINT(bugprone-suspicious-include)
