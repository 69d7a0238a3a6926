// The compute ceiling of `quarry bench --profile`: how many multiply-adds per
// second the calling core's vector FMA units reach on a loop with no memory
// traffic (independent FMA chains in registers), at the widest vector the CPU
// has. Prefill is bound by these units (or by AMX tiles, which this does not
// measure), as decode is bound by the read bandwidth.
#pragma once

#include <cstddef>
#include <cstdint>

namespace quarry::kernels {

// Lanes per FMA instruction of the burst below: 16 (AVX-512), 8 (AVX2 + FMA),
// or 0 where the CPU has no vector FMA (the burst then does nothing).
size_t fma_lanes();

// Runs `rounds` rounds of FMAs over every chain; returns the multiply-adds done.
uint64_t fma_burst(uint64_t rounds);

}  // namespace quarry::kernels
