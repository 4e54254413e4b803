#include "odata_query.hpp"

#include "text.hpp"

#include <boost/json.hpp>

#include <cctype>
#include <charconv>
#include <cstdlib>

namespace ib::sim {

namespace json = boost::json;

namespace {

// Reads an OData string literal starting at s[pos] == '\''; '' is an escaped quote.
bool read_string_literal(std::string_view s, std::size_t& pos, std::string& out) {
  ++pos;
  out.clear();
  while (pos < s.size()) {
    if (s[pos] == '\'') {
      if (pos + 1 < s.size() && s[pos + 1] == '\'') {
        out.push_back('\'');
        pos += 2;
        continue;
      }
      ++pos;
      return true;
    }
    out.push_back(s[pos++]);
  }
  return false;
}

enum class Op { Eq, Ne, Gt, Ge, Lt, Le };

struct Literal {
  enum class Kind { Null, String, Number, Bool } kind = Kind::Null;
  std::string s;
  double d = 0;
  bool b = false;
};

class Compare final : public Filter {
public:
  Compare(std::string prop, Op op, Literal lit) : prop_(std::move(prop)), op_(op), lit_(std::move(lit)) {}
  bool matches(const Getter& get) const override {
    const json::value* v = get(prop_);
    int c = 0;  // <0, 0, >0 ; 2 = incomparable
    bool comparable = true;
    const bool v_null = !v || v->is_null();
    switch (lit_.kind) {
      case Literal::Kind::Null:
        if (op_ == Op::Eq) return v_null;
        if (op_ == Op::Ne) return !v_null;
        return false;
      case Literal::Kind::String:
        if (v_null || !v->is_string()) comparable = false;
        else c = std::string_view(v->get_string()).compare(lit_.s);
        break;
      case Literal::Kind::Number: {
        double d = 0;
        if (v_null) comparable = false;
        else if (v->is_double()) d = v->get_double();
        else if (v->is_int64()) d = static_cast<double>(v->get_int64());
        else if (v->is_uint64()) d = static_cast<double>(v->get_uint64());
        else if (v->is_string()) {
          char* end = nullptr;
          const std::string str(v->get_string());
          d = std::strtod(str.c_str(), &end);
          comparable = end && *end == '\0' && !str.empty();
        } else comparable = false;
        c = d < lit_.d ? -1 : (d > lit_.d ? 1 : 0);
        break;
      }
      case Literal::Kind::Bool:
        if (v_null || !v->is_bool()) comparable = false;
        else c = static_cast<int>(v->get_bool()) - static_cast<int>(lit_.b);
        break;
    }
    if (!comparable) return op_ == Op::Ne;
    switch (op_) {
      case Op::Eq: return c == 0;
      case Op::Ne: return c != 0;
      case Op::Gt: return c > 0;
      case Op::Ge: return c >= 0;
      case Op::Lt: return c < 0;
      case Op::Le: return c <= 0;
    }
    return false;
  }

private:
  std::string prop_;
  Op op_;
  Literal lit_;
};

class Logical final : public Filter {
public:
  Logical(bool is_and, std::shared_ptr<Filter> a, std::shared_ptr<Filter> b)
      : and_(is_and), a_(std::move(a)), b_(std::move(b)) {}
  bool matches(const Getter& get) const override {
    return and_ ? (a_->matches(get) && b_->matches(get)) : (a_->matches(get) || b_->matches(get));
  }

private:
  bool and_;
  std::shared_ptr<Filter> a_, b_;
};

class Not final : public Filter {
public:
  explicit Not(std::shared_ptr<Filter> a) : a_(std::move(a)) {}
  bool matches(const Getter& get) const override { return !a_->matches(get); }

private:
  std::shared_ptr<Filter> a_;
};

struct Token {
  enum class Kind { End, LParen, RParen, String, Word } kind = Kind::End;
  std::string text;
};

class FilterParser {
public:
  explicit FilterParser(std::string_view s) : s_(s) { advance(); }

  std::shared_ptr<Filter> parse(std::string& error) {
    auto f = parse_or();
    if (!error_.empty() || !f) {
      error = error_.empty() ? "invalid $filter" : error_;
      return nullptr;
    }
    if (tok_.kind != Token::Kind::End) {
      error = "unexpected '" + tok_.text + "' in $filter";
      return nullptr;
    }
    return f;
  }

private:
  void advance() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (pos_ >= s_.size()) {
      tok_ = {Token::Kind::End, ""};
      return;
    }
    const char c = s_[pos_];
    if (c == '(') {
      tok_ = {Token::Kind::LParen, "("};
      ++pos_;
    } else if (c == ')') {
      tok_ = {Token::Kind::RParen, ")"};
      ++pos_;
    } else if (c == '\'') {
      tok_.kind = Token::Kind::String;
      if (!read_string_literal(s_, pos_, tok_.text)) fail("unterminated string literal in $filter");
    } else {
      const auto start = pos_;
      while (pos_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[pos_])) && s_[pos_] != '(' &&
             s_[pos_] != ')')
        ++pos_;
      tok_ = {Token::Kind::Word, std::string(s_.substr(start, pos_ - start))};
    }
  }

  void fail(std::string e) {
    if (error_.empty()) error_ = std::move(e);
    tok_ = {Token::Kind::End, ""};
  }

  bool word_is(std::string_view w) const { return tok_.kind == Token::Kind::Word && tok_.text == w; }

  std::shared_ptr<Filter> parse_or() {
    auto a = parse_and();
    while (a && word_is("or")) {
      advance();
      auto b = parse_and();
      if (!b) return nullptr;
      a = std::make_shared<Logical>(false, a, b);
    }
    return a;
  }

  std::shared_ptr<Filter> parse_and() {
    auto a = parse_primary();
    while (a && word_is("and")) {
      advance();
      auto b = parse_primary();
      if (!b) return nullptr;
      a = std::make_shared<Logical>(true, a, b);
    }
    return a;
  }

  std::shared_ptr<Filter> parse_primary() {
    if (++depth_ > 100) {
      fail("$filter nests too deeply");
      return nullptr;
    }
    struct DepthGuard {
      int& d;
      ~DepthGuard() { --d; }
    } guard{depth_};
    if (tok_.kind == Token::Kind::LParen) {
      advance();
      auto f = parse_or();
      if (!f) return nullptr;
      if (tok_.kind != Token::Kind::RParen) {
        fail("missing ')' in $filter");
        return nullptr;
      }
      advance();
      return f;
    }
    if (word_is("not")) {
      advance();
      auto f = parse_primary();
      return f ? std::make_shared<Not>(f) : nullptr;
    }
    if (tok_.kind != Token::Kind::Word) {
      fail("expected a property name in $filter");
      return nullptr;
    }
    std::string prop = tok_.text;
    advance();
    Op op;
    if (word_is("eq")) op = Op::Eq;
    else if (word_is("ne")) op = Op::Ne;
    else if (word_is("gt")) op = Op::Gt;
    else if (word_is("ge")) op = Op::Ge;
    else if (word_is("lt")) op = Op::Lt;
    else if (word_is("le")) op = Op::Le;
    else {
      fail("expected eq, ne, gt, ge, lt or le after '" + prop + "' in $filter");
      return nullptr;
    }
    advance();
    Literal lit;
    if (tok_.kind == Token::Kind::String) {
      lit.kind = Literal::Kind::String;
      lit.s = tok_.text;
    } else if (tok_.kind == Token::Kind::Word) {
      const auto& w = tok_.text;
      double d = 0;
      auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), d);
      if (w == "null") lit.kind = Literal::Kind::Null;
      else if (w == "true" || w == "false") {
        lit.kind = Literal::Kind::Bool;
        lit.b = w == "true";
      } else if (ec == std::errc() && p == w.data() + w.size()) {
        lit.kind = Literal::Kind::Number;
        lit.d = d;
      } else {
        // Dates (2024-01-31), GUIDs and other bare tokens compare as their text.
        lit.kind = Literal::Kind::String;
        lit.s = w;
      }
    } else {
      fail("expected a literal after the operator in $filter");
      return nullptr;
    }
    advance();
    return std::make_shared<Compare>(std::move(prop), op, std::move(lit));
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  Token tok_;
  std::string error_;
  int depth_ = 0;
};

}  // namespace

std::string parse_resource_path(std::string_view s, ResourcePath& out) {
  out = ResourcePath{};
  if (s.empty()) return "(empty)";
  const auto paren = s.find('(');
  const auto slash = s.find('/');
  if (paren == std::string_view::npos) {
    out.entity_set = std::string(s.substr(0, slash));
    if (slash != std::string_view::npos) {
      if (s.substr(slash) == "/$count") out.count_segment = true;
      else return std::string(s.substr(slash + 1));
    }
    return {};
  }
  if (slash != std::string_view::npos && slash < paren) return std::string(s.substr(slash + 1));
  out.entity_set = std::string(s.substr(0, paren));
  out.has_key = true;
  std::size_t pos = paren + 1;
  for (;;) {
    std::string name, value;
    // name= is optional for a single value.
    const auto start = pos;
    while (pos < s.size() && s[pos] != '=' && s[pos] != ',' && s[pos] != ')' && s[pos] != '\'') ++pos;
    if (pos < s.size() && s[pos] == '=') {
      name = std::string(s.substr(start, pos - start));
      ++pos;
    } else {
      pos = start;
    }
    const bool quoted = pos < s.size() && s[pos] == '\'';
    if (quoted) {
      if (!read_string_literal(s, pos, value)) return "unterminated string literal in key";
    } else {
      const auto vstart = pos;
      while (pos < s.size() && s[pos] != ',' && s[pos] != ')') ++pos;
      value = std::string(s.substr(vstart, pos - vstart));
      if (value.empty()) return "empty key value";
      if (name.empty() && is_guid(value)) out.key_is_guid = true;
    }
    out.key.emplace_back(std::move(name), std::move(value));
    out.key_quoted.push_back(quoted);
    if (pos >= s.size()) return "missing ')' after key";
    if (s[pos] == ',') {
      ++pos;
      continue;
    }
    if (s[pos] == ')') {
      ++pos;
      break;
    }
    return "bad key predicate";
  }
  if (pos != s.size()) return std::string(s.substr(pos));
  if (out.key.size() > 1)
    for (const auto& [n, v] : out.key)
      if (n.empty()) return "every value of a compound key needs a name";
  return {};
}

std::shared_ptr<Filter> parse_filter(std::string_view text, std::string& error) {
  FilterParser p(text);
  return p.parse(error);
}

std::string parse_query_options(std::string_view raw, QueryOptions& out) {
  while (!raw.empty()) {
    const auto amp = raw.find('&');
    const auto pair = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
    const auto eq = pair.find('=');
    const auto name = percent_decode(pair.substr(0, eq), true);
    const auto value = eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true);
    auto number = [&](std::optional<std::size_t>& dst) -> std::string {
      std::size_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || p != value.data() + value.size()) return "invalid " + name + " value '" + value + "'";
      dst = n;
      return {};
    };
    if (name == "$filter") {
      std::string err;
      out.filter = parse_filter(value, err);
      if (!out.filter) return err;
    } else if (name == "$select") {
      std::vector<std::string> props;
      std::string_view v = value;
      while (!v.empty()) {
        const auto comma = v.find(',');
        auto p = v.substr(0, comma);
        while (!p.empty() && p.front() == ' ') p.remove_prefix(1);
        while (!p.empty() && p.back() == ' ') p.remove_suffix(1);
        if (!p.empty()) props.emplace_back(p);
        v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
      }
      out.select = std::move(props);
    } else if (name == "$top") {
      if (auto e = number(out.top); !e.empty()) return e;
    } else if (name == "$skip") {
      if (auto e = number(out.skip); !e.empty()) return e;
    } else if (name == "$count") {
      if (value != "true" && value != "false") return "$count must be true or false";
      out.count = value == "true";
    } else if (name == "cross-company") {
      if (value != "true" && value != "false") return "cross-company must be true or false";
      out.cross_company = value == "true";
    } else if (!name.empty() && name.front() == '$') {
      return "The query parameter " + name + " is not supported";
    }
  }
  return {};
}

}  // namespace ib::sim
