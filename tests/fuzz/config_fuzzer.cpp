// libFuzzer target: the daemon's YAML configuration (config::ConfigSource +
// app::DaemonConfig::load / validate / unknown_keys, as `invoice-bridge run` and
// `check-config` read a file). Invariants: never crashes or throws, whatever the YAML
// (anchors, aliases, tags, deep nesting, wrong types, huge numbers); every problem is a
// non-empty message.

#include "fuzz_check.hpp"

#include "app/daemon_config.hpp"
#include "config/config_source.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using ib::fuzz::require;
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  try {
    ib::config::ConfigSource source(yaml, "fuzz.yaml");
    ib::app::DaemonConfig config;
    config.load(source);
    for (const auto& p : source.problems()) require(!p.empty(), "a problem is a message");
    for (const auto& p : config.validate()) require(!p.empty(), "a validation problem is a message");
    for (const auto& k : source.unknown_keys()) require(!k.empty(), "an unknown key is named");
  } catch (...) {
    require(false, "reading the configuration threw");
  }
  return 0;
}
