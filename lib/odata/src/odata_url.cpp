#include "odata/odata_url.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/decode_view.hpp>

namespace ib::odata {

std::string string_literal(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

namespace {

std::string encode(std::string_view s) { return boost::urls::encode(s, boost::urls::unreserved_chars); }

}  // namespace

std::string encoded_key_predicate(const KeyValues& key) {
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (i) out.push_back(',');
    out += encode(key[i].first);
    out += "='";
    std::string doubled;
    for (char c : key[i].second) {
      if (c == '\'') doubled.push_back('\'');
      doubled.push_back(c);
    }
    out += encode(doubled);
    out.push_back('\'');
  }
  return out;
}

std::string entity_path(std::string_view entity_set, const KeyValues& key) {
  std::string out = encode(entity_set);
  if (!key.empty()) {
    out.push_back('(');
    out += encoded_key_predicate(key);
    out.push_back(')');
  }
  return out;
}

Result<KeyValues> parse_key_predicate(std::string_view encoded) {
  auto pv = boost::urls::make_pct_string_view(encoded);
  if (!pv) return Error{"key predicate: bad percent-encoding"};
  std::string s;
  for (char c : pv->decode()) s.push_back(c);
  KeyValues out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto eq = s.find('=', i);
    if (eq == std::string::npos) return Error{"key predicate: expected name='value' at " + std::to_string(i)};
    std::string name = s.substr(i, eq - i);
    i = eq + 1;
    if (i >= s.size() || s[i] != '\'') return Error{"key predicate: expected ' after " + name + "="};
    ++i;
    std::string value;
    bool closed = false;
    while (i < s.size()) {
      if (s[i] == '\'') {
        if (i + 1 < s.size() && s[i + 1] == '\'') {
          value.push_back('\'');
          i += 2;
          continue;
        }
        ++i;
        closed = true;
        break;
      }
      value.push_back(s[i++]);
    }
    if (!closed) return Error{"key predicate: unterminated string literal for " + name};
    out.emplace_back(std::move(name), std::move(value));
    if (i < s.size()) {
      if (s[i] != ',') return Error{"key predicate: expected , at " + std::to_string(i)};
      ++i;
    }
  }
  return out;
}

}  // namespace ib::odata
