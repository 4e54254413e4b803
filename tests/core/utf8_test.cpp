#include "core/utf8.hpp"
#include "core/log.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

using ib::core::base64_decode;
using ib::core::base64_encode;
using ib::core::is_valid_utf8;
using ib::core::to_valid_utf8;

namespace {

const std::string kFffd = "\xEF\xBF\xBD";

std::string times(int n, const std::string& s) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

TEST_CASE("utf8: well-formed text is valid and comes back unchanged", "[core][utf8][unit]") {
  for (const std::string& s : std::vector<std::string>{"", "plain ASCII", "M\xC3\xBCller \xE2\x82\xAC \xF0\x9D\x84\x9E",
                              "\xED\x9F\xBF" /* U+D7FF */, "\xEE\x80\x80" /* U+E000 */,
                              "\xF4\x8F\xBF\xBF" /* U+10FFFF */, std::string("nul\0inside", 10)}) {
    INFO(s);
    CHECK(is_valid_utf8(s));
    CHECK(to_valid_utf8(s) == s);
  }
}

TEST_CASE("utf8: each ill-formed sequence becomes one U+FFFD per maximal subpart", "[core][utf8][unit]") {
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"\x80", kFffd},                                   // lone continuation byte
      {"a\xBF" "b", "a" + kFffd + "b"},                  // lone continuation between ASCII
      {"\xC0\xAF", times(2, kFffd)},                     // overlong '/'
      {"\xE0\x80\xAF", times(3, kFffd)},                 // overlong, 3 bytes
      {"\xF0\x80\x80\xAF", times(4, kFffd)},             // overlong, 4 bytes
      {"\xED\xA0\x80", times(3, kFffd)},                 // U+D800, a surrogate in UTF-8
      {"\xED\xBF\xBF", times(3, kFffd)},                 // U+DFFF
      {"\xF4\x90\x80\x80", times(4, kFffd)},             // above U+10FFFF
      {"\xE2\x82", kFffd},                               // truncated at the end
      {"\xE2\x82x", kFffd + "x"},                        // truncated before ASCII: 'x' kept
      {"\xF0\x9D\x84", kFffd},                           // truncated 4-byte sequence
      {"\xC3(", kFffd + "("},
      {"\xFF", kFffd},
      {"\xFE\xFF", times(2, kFffd)},
      {"caf\xE9 cr\xE8me", "caf" + kFffd + " cr" + kFffd + "me"},  // Latin-1
  };
  for (const auto& c : cases) {
    INFO(base64_encode(c.in));
    CHECK_FALSE(is_valid_utf8(c.in));
    CHECK(to_valid_utf8(c.in) == c.out);
    CHECK(is_valid_utf8(to_valid_utf8(c.in)));
    // The repaired text is a JSON string Boost.JSON accepts (its parser validates UTF-8),
    // the raw bytes are not.
    boost::json::object o;
    o["text"] = to_valid_utf8(c.in);
    o["text_base64"] = base64_encode(c.in);
    boost::system::error_code ec;
    auto v = boost::json::parse(boost::json::serialize(o), ec);
    REQUIRE_FALSE(ec);
    std::string back;
    REQUIRE(base64_decode(std::string(v.at("text_base64").as_string()), back));
    CHECK(back == c.in);
    boost::json::parse(boost::json::serialize(boost::json::string(c.in)), ec);
    CHECK(ec);
  }
}

TEST_CASE("base64: RFC 4648 test vectors and every byte value", "[core][utf8][unit]") {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, coded] : vectors) {
    CHECK(base64_encode(plain) == coded);
    std::string back;
    REQUIRE(base64_decode(coded, back));
    CHECK(back == plain);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t cut = 0; cut < 4; ++cut) {
    const auto bytes = all.substr(cut);
    std::string back;
    REQUIRE(base64_decode(base64_encode(bytes), back));
    CHECK(back == bytes);
  }
  std::string out;
  CHECK_FALSE(base64_decode("Zm9", out));    // not a multiple of 4
  CHECK_FALSE(base64_decode("Zm=v", out));   // padding inside
  CHECK_FALSE(base64_decode("Zm9v\n", out)); // whitespace
  CHECK_FALSE(base64_decode("Z!==", out));
}

TEST_CASE("json log lines stay JSON with bytes that are not UTF-8, exact bytes in _base64",
          "[core][log][utf8][unit]") {
  CHECK(ib::log::json_escape("bad\xE2\x82") == "bad\\ufffd");
  // The formatter is exercised in log_test.cpp; here the escaping contract alone: the
  // escaped text of any bytes parses as a JSON string.
  for (const std::string s : {"\x80", "\xC0\xAF", "\xED\xA0\x80", "\xE2\x82", "\xFF", "ok \"q\"\n"}) {
    boost::system::error_code ec;
    boost::json::parse("\"" + ib::log::json_escape(s) + "\"", ec);
    CHECK_FALSE(ec);
  }
}
