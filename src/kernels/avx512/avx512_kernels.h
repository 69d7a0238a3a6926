// AVX-512 kernels: the `avx512_fast` op table (not exact, opt-in like
// `avx2_fast`): MXFP4 experts by VNNI int8 dot products over block pairs,
// dense BF16 by AVX512-BF16 dot products on BF16-rounded activations; every
// other entry is avx2_fast's.
#pragma once

#include "kernels/ops.h"

namespace quarry::kernels::avx512 {

// AVX-512 F/BW/VL, VNNI and BF16 on this CPU (Sapphire Rapids, Zen 4 and later).
bool fast_supported();
const Ops& fast_ops();

}  // namespace quarry::kernels::avx512

namespace quarry::kernels::avx512_emu {

// The same kernels built without AVX-512 flags, SIMDe's portable code in
// place of every intrinsic ("avx512_emu"): slow, for tests on any CPU.
const Ops& fast_ops();

}  // namespace quarry::kernels::avx512_emu
