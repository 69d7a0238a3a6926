// Replays a fuzz corpus (every file under the given folders) through
// LLVMFuzzerTestOneInput, so CI runs the corpus without libFuzzer.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  size_t n = 0;
  for (int a = 1; a < argc; ++a) {
    if (!fs::exists(argv[a])) {
      std::fprintf(stderr, "replay: %s does not exist\n", argv[a]);
      return 1;
    }
    auto replay = [&](const fs::path& path) {
      std::ifstream in(path, std::ios::binary);
      std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
      ++n;
    };
    if (fs::is_regular_file(argv[a])) {
      replay(argv[a]);
      continue;
    }
    for (const auto& entry : fs::recursive_directory_iterator(argv[a])) {
      if (entry.is_regular_file()) replay(entry.path());
    }
  }
  std::printf("replayed %zu inputs\n", n);
  return n > 0 ? 0 : 1;
}
