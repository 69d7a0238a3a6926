// raw.cpp once more, on tiles.h's model of the tile instructions and SIMDe's
// portable code (the tests' amx_emu table).
#define QUARRY_AMX_NS amx_emu
#define QUARRY_AMX_EMU
#include "kernels/amx/raw.cpp"  // NOLINT(bugprone-suspicious-include)
