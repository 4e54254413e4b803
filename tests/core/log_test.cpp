#include "core/log.hpp"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace {

// Captures what the logger writes to stderr while `fn` runs.
template <typename Fn>
std::string capture_stderr(Fn fn) {
  std::fflush(stderr);
  char path[] = "/tmp/ib-log-test-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  const int saved = ::dup(2);
  ::dup2(fd, 2);
  fn();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(fd);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  ::unlink(path);
  return ss.str();
}

}  // namespace

TEST_CASE("json lines carry the message and fields, escaped", "[core][log][unit]") {
  const auto out = capture_stderr([] {
    ib::log::setup(ib::log::Format::json, ib::log::Level::info);
    ib::log::info("invoice \"imported\"", {{"dedup_key", "ACME|V001|INV'7"}, {"status", "204"}});
    ib::log::debug("not shown");
  });
  CHECK(out.find("\"level\":\"info\",\"msg\":\"invoice \\\"imported\\\"\",\"dedup_key\":\"ACME|V001|INV'7\",\"status\":\"204\"}") != std::string::npos);
  CHECK(out.find("\"ts\":\"") != std::string::npos);
  CHECK(out.find("not shown") == std::string::npos);
}

TEST_CASE("text lines put fields as name=value, quoting values with spaces", "[core][log][unit]") {
  const auto out = capture_stderr([] {
    ib::log::setup(ib::log::Format::text, ib::log::Level::debug);
    ib::log::warn("batch failed", {{"status", "503"}, {"error", "service unavailable"}});
  });
  CHECK(out.find(" warning batch failed status=503 error=\"service unavailable\"\n") !=
        std::string::npos);
}

TEST_CASE("json_escape escapes controls and replaces invalid UTF-8", "[core][log][unit]") {
  using ib::log::json_escape;
  CHECK(json_escape("a\"b\\c\n\x01") == "a\\\"b\\\\c\\n\\u0001");
  CHECK(json_escape("Müller € 𝄞") == "Müller € 𝄞");
  CHECK(json_escape("bad\xff") == "bad\\ufffd");
  CHECK(json_escape("\xc3") == "\\ufffd");          // truncated sequence
  CHECK(json_escape("\xed\xa0\x80") == "\\ufffd\\ufffd\\ufffd");  // surrogate
}

TEST_CASE("levels and formats parse by name", "[core][log][unit]") {
  ib::log::Level l{};
  ib::log::Format f{};
  CHECK(ib::log::parse_level("debug", l));
  CHECK(l == ib::log::Level::debug);
  CHECK_FALSE(ib::log::parse_level("loud", l));
  CHECK(ib::log::parse_format("json", f));
  CHECK(f == ib::log::Format::json);
  CHECK_FALSE(ib::log::parse_format("xml", f));
}
