// AMX kernels: the `amx_fast` op table (not exact, opt-in): `avx512_fast` with
// AMX tiles for calls of 8 tokens or more (prefill, batched decode).
#pragma once

#include "kernels/ops.h"

namespace quarry::kernels::amx {

// avx512_fast's features plus AMX-TILE/INT8/BF16, and the kernel granting
// this process the tile state.
bool fast_supported();
const Ops& fast_ops();

}  // namespace quarry::kernels::amx

namespace quarry::kernels::amx_emu {

// The same loops on a C++ model of the tile instructions and SIMDe
// ("amx_emu"): slow, for tests on any CPU.
const Ops& fast_ops();

}  // namespace quarry::kernels::amx_emu
