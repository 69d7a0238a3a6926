// raw.cpp once more, without AVX-512 flags: SIMDe's portable code runs the
// same loops on any CPU (the tests' avx512_emu table).
#define QUARRY_AVX512_NS avx512_emu
#include "kernels/avx512/raw.cpp"  // NOLINT(bugprone-suspicious-include)
