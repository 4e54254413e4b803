#include "json_text.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_stack.hpp>

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace ib::sim {

namespace json = boost::json;

namespace {

// A raw number is an object with this one member holding the number's text. No JSON a
// client sends can make one: parse_exact() refuses this key.
constexpr std::string_view kRawNumberKey = "\x01ib-raw-number";

void dump_to(const json::value& v, std::string& out);

void dump_to(const json::object& o, std::string& out) {
  out.push_back('{');
  bool first = true;
  for (const auto& [k, x] : o) {
    if (!first) out.push_back(',');
    first = false;
    out += json::serialize(json::string(k));
    out.push_back(':');
    dump_to(x, out);
  }
  out.push_back('}');
}

void dump_to(const json::value& v, std::string& out) {
  if (const auto raw = raw_number_text(v); !raw.empty()) {
    out += raw;
    return;
  }
  switch (v.kind()) {
    case json::kind::object: dump_to(v.get_object(), out); return;
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& x : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        dump_to(x, out);
      }
      out.push_back(']');
      return;
    }
    case json::kind::double_: {
      char buf[64];
      auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v.get_double());
      if (ec == std::errc() && std::isfinite(v.get_double())) out.append(buf, p);
      else out += "null";
      return;
    }
    default: out += json::serialize(v); return;
  }
}

// Boost.JSON's own parser handler (detail/handler.hpp), except for doubles: their text is
// kept. basic_parser hands a number's text in parts when it spans writes; we write once,
// but collect the parts anyway.
struct ExactHandler {
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack st;
  std::string number;  // the parts of the number being read
  std::string key;     // the parts of the key being read

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key.append(s.data(), s.size());
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key.append(s.data(), s.size());
    const bool marker = key == kRawNumberKey;
    key.clear();
    if (marker) {
      ec = json::error::syntax;
      return false;
    }
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    number.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    number.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    number.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double, json::string_view s, json::error_code&) {
    number.append(s.data(), s.size());
    st.push_key(json::string_view(kRawNumberKey.data(), kRawNumberKey.size()));
    st.push_string(json::string_view(number.data(), number.size()));
    st.push_object(1);
    number.clear();
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

}  // namespace

std::string dump(const json::object& o) {
  std::string s;
  dump_to(o, s);
  return s;
}

std::string dump(const json::value& v) {
  std::string s;
  dump_to(v, s);
  return s;
}

json::value parse_exact(std::string_view text, boost::system::error_code& ec) {
  json::basic_parser<ExactHandler> p(json::parse_options{});
  p.handler().st.reset();
  const auto n = p.write_some(false, text.data(), text.size(), ec);
  if (ec) return nullptr;
  if (n < text.size()) {
    ec = json::error::extra_data;
    return nullptr;
  }
  return p.handler().st.release();
}

bool is_raw_number(const json::value& v) noexcept { return !raw_number_text(v).empty(); }

std::string_view raw_number_text(const json::value& v) noexcept {
  const auto* o = v.if_object();
  if (!o || o->size() != 1) return {};
  const auto& [k, x] = *o->begin();
  if (k != json::string_view(kRawNumberKey.data(), kRawNumberKey.size()) || !x.is_string()) return {};
  return std::string_view(x.get_string().data(), x.get_string().size());
}

json::value numeric_view(const json::value& v) {
  const auto raw = raw_number_text(v);
  if (raw.empty()) return v;
  return std::strtod(std::string(raw).c_str(), nullptr);
}

}  // namespace ib::sim
