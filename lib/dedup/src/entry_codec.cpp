#include "entry_codec.hpp"

#include "entry_rules.hpp"

#include <cstdint>

namespace ib::dedup::detail {
namespace {

constexpr std::uint8_t kVersion = 1;

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

void put_bytes(std::string& out, std::string_view b) {
  put_varint(out, b.size());
  out.append(b);
}

class Reader {
public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return false;
      const auto byte = static_cast<std::uint8_t>(in_[pos_++]);
      v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }
  bool time(std::int64_t& ms) {
    std::uint64_t v;
    if (!varint(v)) return false;
    ms = unzigzag(v);
    return true;
  }
  bool bytes(std::string& out) {
    std::uint64_t n;
    if (!varint(n) || n > in_.size() - pos_) return false;
    out.assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == in_.size(); }

private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string encode_entry(const Entry& e) {
  std::string out;
  out.reserve(24 + e.fingerprint.size() + e.record_id.size());
  put_varint(out, kVersion);
  put_varint(out, static_cast<std::uint8_t>(e.state));
  put_varint(out, e.attempt);
  put_varint(out, zigzag(to_ms(e.state_since)));
  put_varint(out, zigzag(to_ms(e.first_seen)));
  put_varint(out, zigzag(to_ms(e.last_seen)));
  put_varint(out, e.duplicates);
  put_bytes(out, e.fingerprint);
  put_bytes(out, e.record_id);
  return out;
}

std::optional<Entry> decode_entry(std::string_view bytes) {
  Reader r(bytes);
  std::uint64_t version, state, attempt, duplicates;
  std::int64_t since, first, last;
  Entry e;
  if (!r.varint(version) || version != kVersion) return std::nullopt;
  if (!r.varint(state) || (state != 1 && state != 2)) return std::nullopt;
  if (!r.varint(attempt) || attempt > UINT32_MAX) return std::nullopt;
  if (!r.time(since) || !r.time(first) || !r.time(last) || !r.varint(duplicates)) return std::nullopt;
  if (!r.bytes(e.fingerprint) || !r.bytes(e.record_id) || !r.done()) return std::nullopt;
  e.state = static_cast<core::StoreState>(state);
  e.attempt = static_cast<std::uint32_t>(attempt);
  e.state_since = from_ms(since);
  e.first_seen = from_ms(first);
  e.last_seen = from_ms(last);
  e.duplicates = duplicates;
  return e;
}

std::optional<std::int64_t> decode_last_seen_ms(std::string_view bytes) {
  Reader r(bytes);
  std::uint64_t skip;
  std::int64_t since, first, last;
  if (!r.varint(skip) || skip != kVersion) return std::nullopt;
  if (!r.varint(skip) || !r.varint(skip)) return std::nullopt;
  if (!r.time(since) || !r.time(first) || !r.time(last)) return std::nullopt;
  return last;
}

}  // namespace ib::dedup::detail
