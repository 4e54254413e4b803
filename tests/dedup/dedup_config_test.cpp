#include "dedup/dedup_config.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace std::chrono_literals;
using namespace ib::dedup;

namespace {
bool mentions(const std::vector<std::string>& problems, std::string_view what) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const std::string& p) { return p.find(what) != std::string::npos; });
}
}  // namespace

TEST_CASE("the default config needs only a path", "[dedup][config]") {
  DedupConfig c;
  const auto problems = c.validate();
  REQUIRE(problems.size() == 1);
  CHECK(mentions(problems, "dedup.path"));
  c.path = "/var/lib/invoice-bridge/dedup";
  CHECK(c.validate().empty());
  CHECK(c.ttl == std::chrono::hours(24 * 7));
}

TEST_CASE("validate reports every problem at once", "[dedup][config]") {
  DedupConfig c;
  c.ttl = 500ms;
  c.block_cache_bytes = 1024;
  c.write_buffer_bytes = 0;
  c.bloom_bits_per_key = 0;
  c.fsync = FsyncPolicy::periodic;
  c.fsync_interval = 0ms;
  c.max_background_jobs = 0;
  const auto problems = c.validate();
  CHECK(problems.size() == 7);
  for (auto key : {"dedup.path", "dedup.ttl", "dedup.block_cache_bytes", "dedup.write_buffer_bytes",
                   "dedup.bloom_bits_per_key", "dedup.fsync_interval", "dedup.max_background_jobs"}) {
    CHECK(mentions(problems, key));
  }
}

TEST_CASE("fsync policies parse from their names", "[dedup][config]") {
  for (const auto& name : fsync_policy_names()) {
    const auto p = parse_fsync_policy(name);
    REQUIRE(p);
    CHECK(to_string(*p) == name);
  }
  CHECK_FALSE(parse_fsync_policy("sometimes"));
  CHECK_FALSE(parse_fsync_policy(""));
}
