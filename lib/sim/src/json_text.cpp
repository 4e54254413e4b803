#include "json_text.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>
#include <cmath>

namespace ib::sim {

namespace json = boost::json;

namespace {

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

}  // namespace ib::sim
