#pragma once

// Loads a captured HTTP response (status line, headers, blank line, body) from data/.

#include "odata/batch_result.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace ib::odata::testing {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline BatchHttpResponse load_capture(const std::string& name) {
  const std::string text = read_file(std::string(IB_ODATA_DATA_DIR) + "/" + name);
  BatchHttpResponse r;
  std::size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (first) {
      r.status = std::stoi(line.substr(9, 3));
      first = false;
      continue;
    }
    if (line.empty()) break;
    const auto colon = line.find(':');
    std::string name = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers.emplace_back(name, value);
  }
  r.body = pos < text.size() ? text.substr(pos) : std::string();
  return r;
}

/// A sent batch of `n` requests with Content-IDs 1..n (what encode_batch produces).
inline EncodedBatch sent_batch(std::size_t n, bool atomic = false) {
  EncodedBatch b;
  b.atomic = atomic;
  for (std::size_t i = 0; i < n; ++i) b.content_ids.push_back(std::to_string(i + 1));
  return b;
}

}  // namespace ib::odata::testing
