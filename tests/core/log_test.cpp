#include "core/log.hpp"
#include "core/utf8.hpp"

#include <boost/json.hpp>

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

TEST_CASE("json lines stay JSON when a field or the message is not UTF-8", "[core][log][utf8][unit]") {
  const std::string key = "ACME|V\xE9|INV-1";  // Latin-1 'é'
  const auto out = capture_stderr([&] {
    ib::log::setup(ib::log::Format::json, ib::log::Level::info);
    ib::log::info("bad \xFF message", {{"dedup_key", key}, {"status", "204"}});
  });
  boost::system::error_code ec;
  auto v = boost::json::parse(out, ec);
  REQUIRE_FALSE(ec);
  const auto& o = v.as_object();
  CHECK(o.at("msg").as_string() == "bad \xEF\xBF\xBD message");
  CHECK(o.at("msg_base64").as_string() == "YmFkIP8gbWVzc2FnZQ==");
  CHECK(o.at("dedup_key").as_string() == "ACME|V\xEF\xBF\xBD|INV-1");
  std::string back;
  REQUIRE(ib::core::base64_decode(std::string(o.at("dedup_key_base64").as_string()), back));
  CHECK(back == key);
  CHECK(o.at("status").as_string() == "204");
  CHECK_FALSE(o.contains("status_base64"));
}
