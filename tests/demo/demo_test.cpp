// Integration: `invoice-bridge demo` end to end in this process (mock Kafka cluster, D365
// simulator, RocksDB store): exit status and the summary's invariant lines.
#include "demo/demo.hpp"
#include "demo/invoice_stream.hpp"
#include "testing/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

using namespace ib::demo;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The summary row named `check`, split into words after the name: expected, actual, result.
std::vector<std::string> row(const std::string& text, const std::string& check) {
  for (const auto& line : lines_of(text)) {
    const auto at = line.find("  " + check + " ");
    if (at != 0) continue;
    std::istringstream rest(line.substr(at + 2 + check.size()));
    std::vector<std::string> words;
    for (std::string w; rest >> w;) words.push_back(w);
    return words;
  }
  FAIL("no summary row '" << check << "' in:\n" << text);
  return {};
}

void check_row(const std::string& text, const std::string& check, std::uint64_t expected, std::uint64_t actual,
               const std::string& result) {
  INFO(text);
  const auto words = row(text, check);
  REQUIRE(words.size() >= 3);
  CHECK(words[0] == std::to_string(expected));
  CHECK(words[1] == std::to_string(actual));
  CHECK(words[2] == result);
}

DemoOptions small(std::uint64_t seed) {
  DemoOptions o;
  o.invoices = 300;
  o.seed = seed;
  o.progress = Progress::none;
  o.timeout = std::chrono::seconds(90);
  return o;
}

}  // namespace

TEST_CASE("demo: 300 invoices with faults; every invariant OK, exit 0, temporary store removed",
          "[demo][integration]") {
  const auto options = small(7);
  StreamSettings settings;
  settings.invoices = options.invoices;
  settings.seed = options.seed;
  const auto stream = make_stream(settings);

  std::ostringstream out, err;
  const int rc = run_demo(options, out, err);
  const auto text = out.str();
  INFO(text << "\nstderr:\n" << err.str());
  CHECK(rc == 0);
  check_row(text, "every message has an outcome", stream.total(), stream.total(), "OK");
  check_row(text, "unique valid invoices created in D365", 300, 300, "OK");
  check_row(text, "each created exactly once", 300, 300, "OK");
  check_row(text, "none missing, first version's amount kept", 300, 300, "OK");
  check_row(text, "imported (recovered included)", 300, 300, "OK");
  check_row(text, "upstream duplicates skipped", stream.duplicates, stream.duplicates, "OK");
  check_row(text, "conflicts in review", stream.conflicts, stream.conflicts, "OK");
  check_row(text, "poison pills in review", stream.poison_pills, stream.poison_pills, "OK");
  CHECK(text.find("FAILED") == std::string::npos);
  CHECK(text.find("metrics: http://127.0.0.1:") != std::string::npos);

  // "store:   <dir> (temporary)" names a directory that is gone after the run.
  const auto at = text.find("store:   ");
  REQUIRE(at != std::string::npos);
  const auto end = text.find(" (temporary)", at);
  REQUIRE(end != std::string::npos);
  const std::filesystem::path store = text.substr(at + 9, end - at - 9);
  CHECK_FALSE(store.empty());
  CHECK_FALSE(std::filesystem::exists(store));
}

TEST_CASE("demo: a kept --state-dir reused with the same seed; the stale store shows as FAILED, exit 1",
          "[demo][integration]") {
  ib::testing::TempDir dir("ib-demo-state");
  auto options = small(11);
  options.faults = false;
  options.state_dir = (dir.path() / "state").string();
  StreamSettings settings;
  settings.invoices = options.invoices;
  settings.seed = options.seed;
  const auto stream = make_stream(settings);

  {
    std::ostringstream out, err;
    const int rc = run_demo(options, out, err);
    INFO(out.str() << "\nstderr:\n" << err.str());
    CHECK(rc == 0);
    CHECK(out.str().find(" (kept)") != std::string::npos);
  }
  REQUIRE(std::filesystem::exists(options.state_dir));
  REQUIRE_FALSE(std::filesystem::is_empty(options.state_dir));

  // The store remembers every key as imported; the new simulator is empty, so nothing is
  // created: the summary must say so instead of reporting success.
  std::ostringstream out, err;
  const int rc = run_demo(options, out, err);
  const auto text = out.str();
  INFO(text << "\nstderr:\n" << err.str());
  CHECK(rc == 1);
  check_row(text, "every message has an outcome", stream.total(), stream.total(), "OK");
  check_row(text, "unique valid invoices created in D365", 300, 0, "FAILED");
  check_row(text, "imported (recovered included)", 300, 0, "FAILED");
  check_row(text, "upstream duplicates skipped", stream.duplicates, 300 + stream.duplicates, "FAILED");
  check_row(text, "conflicts in review", stream.conflicts, stream.conflicts, "OK");
  CHECK(text.find("result: FAILED") != std::string::npos);
}
