// ops.cpp once more, as the amx_emu table over raw_emu.cpp.
#define QUARRY_AMX_NS amx_emu
#define QUARRY_AMX_EMU
#include "kernels/amx/ops.cpp"  // NOLINT(bugprone-suspicious-include)
