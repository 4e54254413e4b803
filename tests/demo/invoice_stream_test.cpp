// The demo's generated stream: deterministic for a seed, the advertised mix, and the
// awkward characters it promises.
#include "demo/invoice_stream.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <set>

using namespace ib::demo;

TEST_CASE("make_stream: same settings, same bytes; another seed, another stream", "[demo][unit]") {
  StreamSettings s;
  s.invoices = 400;
  const auto a = make_stream(s);
  const auto b = make_stream(s);
  REQUIRE(a.main.size() == b.main.size());
  for (std::size_t i = 0; i < a.main.size(); ++i) {
    CHECK(a.main[i].key == b.main[i].key);
    CHECK(a.main[i].value == b.main[i].value);
  }
  s.seed = 2;
  const auto c = make_stream(s);
  bool differs = false;
  for (std::size_t i = 0; i < std::min(a.main.size(), c.main.size()); ++i) differs = differs || a.main[i].value != c.main[i].value;
  CHECK(differs);
}

TEST_CASE("make_stream: originals, duplicates after their original, poison pills, late conflicts", "[demo][unit]") {
  StreamSettings s;
  s.invoices = 1000;
  s.duplicate_percent = 10;
  const auto st = make_stream(s);
  CHECK(st.expected.size() == 1000);
  CHECK(st.duplicates == 100);
  CHECK(st.poison_pills == 5);
  CHECK(st.conflicts == 2);
  CHECK(st.main.size() == 1000 + 100 + 5);
  CHECK(st.late.size() == 2);

  // Every key of an invoice: its first record is the original (plain spelling), copies come later.
  std::map<std::string, int> seen;
  std::size_t poison = 0;
  for (const auto& r : st.main) {
    if (r.key.rfind("poison-", 0) == 0) {
      ++poison;
      continue;
    }
    if (seen[r.key]++ == 0) CHECK(r.value.rfind("{\"vendor_account\"", 0) == 0);
  }
  CHECK(poison == 5);
  CHECK(seen.size() == 1000);
  // Conflicts reuse keys that were imported, with another content.
  for (const auto& r : st.late) {
    REQUIRE(seen.count(r.key) == 1);
  }

  std::set<char> awkward;
  bool non_ascii = false;
  for (const auto& e : st.expected) {
    for (char ch : e.invoice_number) {
      if (std::string_view("'\"/ &#%|\\").find(ch) != std::string_view::npos) awkward.insert(ch);
      non_ascii = non_ascii || static_cast<unsigned char>(ch) >= 0x80;
    }
  }
  CHECK(awkward.size() == 9);
  CHECK(non_ascii);
}

TEST_CASE("make_stream: explicit counts and no duplicates", "[demo][unit]") {
  StreamSettings s;
  s.invoices = 50;
  s.duplicate_percent = 0;
  s.conflicts = 7;
  s.poison_pills = 9;
  const auto st = make_stream(s);
  CHECK(st.duplicates == 0);
  CHECK(st.main.size() == 50 + 9);
  CHECK(st.late.size() == 7);
  CHECK(st.total() == 66);
}
