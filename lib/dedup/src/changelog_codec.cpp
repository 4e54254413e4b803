#include "dedup/changelog_codec.hpp"

#include "entry_codec.hpp"

namespace ib::dedup {

std::string encode_changelog_value(const Entry& entry) {
  std::string out(1, kChangelogFormat);
  out += detail::encode_entry(entry);
  return out;
}

std::optional<Entry> decode_changelog_value(std::string_view bytes) {
  if (bytes.empty() || bytes.front() != kChangelogFormat) return std::nullopt;
  return detail::decode_entry(bytes.substr(1));
}

std::string checkpoint_key(std::string_view topic, std::int32_t partition) {
  std::string key = "\xff" "changelog-checkpoint";
  key.push_back('\0');
  key += topic;
  key.push_back('\0');
  key += std::to_string(partition);
  return key;
}

bool is_reserved_key(std::string_view key) { return !key.empty() && key.front() == '\xff'; }

}  // namespace ib::dedup
