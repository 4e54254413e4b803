// Runs the fuzz entry point (tests/fuzz/odata_batch_fuzzer.cpp) over the seed corpus and a bounded,
// deterministic stream of mutations of it, so the unit suite exercises the reader the way
// the libFuzzer build does. A broken invariant aborts the test executable.

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::string> load_corpus() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(IB_ODATA_CORPUS_DIR)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    out.push_back(s.str());
  }
  return out;
}

void run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

}  // namespace

TEST_CASE("fuzz driver: seed corpus and 20000 deterministic mutations") {
  const auto corpus = load_corpus();
  REQUIRE(corpus.size() >= 8);
  for (const auto& c : corpus) run(c);

  static const char* const kTokens[] = {"\r\n", "\n", "--batchresponse_x", "--batchresponse_x--", "--b\r\n",
                                        "Content-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\n",
                                        "HTTP/1.1 204 No Content\r\n", "Content-ID: 1\r\n", "\r\n\r\n",
                                        "{\"error\":{\"code\":\"0x80040237\"}}", "{\"responses\":[{\"id\":\"1\",\"status\":201}]}",
                                        "\"", ":", " ", "\t", "(", ")"};
  std::mt19937 rng(20261129);
  std::size_t executed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = corpus[rng() % corpus.size()];
    const int edits = 1 + static_cast<int>(rng() % 6);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
      switch (rng() % 7) {
        case 0:
          if (!s.empty()) s[pos % s.size()] = static_cast<char>(rng());
          break;
        case 1:
          s.insert(pos, 1, static_cast<char>(rng()));
          break;
        case 2:
          if (!s.empty()) s.erase(pos % s.size(), 1 + rng() % 32);
          break;
        case 3: {
          if (s.empty()) break;
          const std::size_t from = rng() % s.size();
          const std::string chunk = s.substr(from, 1 + rng() % 64);
          s.insert(pos, chunk);
          break;
        }
        case 4:
          s.insert(pos, kTokens[rng() % (sizeof kTokens / sizeof kTokens[0])]);
          break;
        case 5:
          s.resize(pos);
          break;
        default:
          if (s.size() >= 2) s[rng() % 2] = static_cast<char>(rng());
          break;
      }
      if (s.size() > 64 * 1024) s.resize(64 * 1024);
    }
    run(s);
    ++executed;
  }
  CHECK(executed == 20000);
}
