// AMX tile operations for amx/raw.cpp only: the instructions themselves, or
// (QUARRY_AMX_EMU) a plain C++ model of their documented semantics that the
// tests run on any CPU. Tile numbers are literals (the instructions encode
// them), so these are macros. The namespace is the build's (amx or amx_emu),
// so the two builds share no inline code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace quarry::kernels::QUARRY_AMX_NS::tiles {

// The 64-byte operand of LDTILECFG (palette 1).
struct alignas(64) Config {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};  // bytes per row of each tile
  uint8_t rows[16] = {};
};

inline void set_tile(Config& c, int t, int rows, int colsb) {
  c.rows[t] = static_cast<uint8_t>(rows);
  c.colsb[t] = static_cast<uint16_t>(colsb);
}

#ifdef QUARRY_AMX_EMU

// Eight tiles of at most 16 rows of 64 bytes, as configured.
struct State {
  Config cfg;
  alignas(64) uint8_t data[8][16][64];
};
inline thread_local State state;

inline void emu_config(const Config& c) {
  state.cfg = c;
  std::memset(state.data, 0, sizeof state.data);
}
inline void emu_load(int t, const void* p, size_t stride) {
  std::memset(state.data[t], 0, sizeof state.data[t]);
  for (int m = 0; m < state.cfg.rows[t]; ++m) {
    std::memcpy(state.data[t][m], static_cast<const uint8_t*>(p) + m * stride, state.cfg.colsb[t]);
  }
}
inline void emu_store(int t, void* p, size_t stride) {
  for (int m = 0; m < state.cfg.rows[t]; ++m) {
    std::memcpy(static_cast<uint8_t*>(p) + m * stride, state.data[t][m], state.cfg.colsb[t]);
  }
}
inline void emu_zero(int t) { std::memset(state.data[t], 0, sizeof state.data[t]); }
// TDPBSSD: c[m][n] += sum over k of a[m][4k + i] * b[k][4n + i], int8 x int8 -> int32.
inline void emu_dpbssd(int c, int a, int b) {
  for (int m = 0; m < state.cfg.rows[c]; ++m) {
    for (int n = 0; n < state.cfg.colsb[c] / 4; ++n) {
      int32_t acc;
      std::memcpy(&acc, &state.data[c][m][4 * n], 4);
      for (int k = 0; k < state.cfg.colsb[a] / 4; ++k) {
        for (int i = 0; i < 4; ++i) {
          acc += static_cast<int8_t>(state.data[a][m][4 * k + i]) *
                 static_cast<int8_t>(state.data[b][k][4 * n + i]);
        }
      }
      std::memcpy(&state.data[c][m][4 * n], &acc, 4);
    }
  }
}
// TDPBF16PS: c[m][n] += sum over k of a[m][2k + i] * b[k][2n + i], BF16 -> f32.
inline void emu_dpbf16ps(int c, int a, int b) {
  auto bf = [](const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    const uint32_t u = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  };
  for (int m = 0; m < state.cfg.rows[c]; ++m) {
    for (int n = 0; n < state.cfg.colsb[c] / 4; ++n) {
      float acc;
      std::memcpy(&acc, &state.data[c][m][4 * n], 4);
      for (int k = 0; k < state.cfg.colsb[a] / 4; ++k) {
        for (int i = 0; i < 2; ++i) {
          acc += bf(&state.data[a][m][4 * k + 2 * i]) * bf(&state.data[b][k][4 * n + 2 * i]);
        }
      }
      std::memcpy(&state.data[c][m][4 * n], &acc, 4);
    }
  }
}

#define QUARRY_TILE_CONFIG(cfg) ::quarry::kernels::QUARRY_AMX_NS::tiles::emu_config(cfg)
#define QUARRY_TILE_LOAD(t, p, stride) \
  ::quarry::kernels::QUARRY_AMX_NS::tiles::emu_load(t, p, stride)
#define QUARRY_TILE_STORE(t, p, stride) \
  ::quarry::kernels::QUARRY_AMX_NS::tiles::emu_store(t, p, stride)
#define QUARRY_TILE_ZERO(t) ::quarry::kernels::QUARRY_AMX_NS::tiles::emu_zero(t)
#define QUARRY_TILE_DPBSSD(c, a, b) ::quarry::kernels::QUARRY_AMX_NS::tiles::emu_dpbssd(c, a, b)
#define QUARRY_TILE_DPBF16PS(c, a, b) ::quarry::kernels::QUARRY_AMX_NS::tiles::emu_dpbf16ps(c, a, b)
#define QUARRY_TILE_RELEASE() ((void)0)

#else

}  // namespace quarry::kernels::QUARRY_AMX_NS::tiles
#include <immintrin.h>
namespace quarry::kernels::QUARRY_AMX_NS::tiles {

// GCC's tile load and config asm do not tell the compiler they read memory:
// a compiler barrier first makes the buffers' stores land before them.
#define QUARRY_TILE_CONFIG(cfg)        \
  do {                                 \
    __asm__ volatile("" ::: "memory"); \
    _tile_loadconfig(&(cfg));          \
  } while (0)
#define QUARRY_TILE_LOAD(t, p, stride) \
  do {                                 \
    __asm__ volatile("" ::: "memory"); \
    _tile_loadd(t, p, stride);         \
  } while (0)
#define QUARRY_TILE_STORE(t, p, stride) _tile_stored(t, p, stride)
#define QUARRY_TILE_ZERO(t) _tile_zero(t)
#define QUARRY_TILE_DPBSSD(c, a, b) _tile_dpbssd(c, a, b)
#define QUARRY_TILE_DPBF16PS(c, a, b) _tile_dpbf16ps(c, a, b)
#define QUARRY_TILE_RELEASE() _tile_release()

#endif

}  // namespace quarry::kernels::QUARRY_AMX_NS::tiles
