#pragma once

#include "dedup/dedup_store.hpp"
#include "pipeline/ports.hpp"

namespace ib::app {

/// The pipeline's StorePort over a DedupStore (RocksDB in production). Store errors
/// become the pipeline's fatal strings, prefixed with the error kind.
class DedupStorePort final : public pipeline::StorePort {
public:
  explicit DedupStorePort(dedup::DedupStore& store) : store_(store) {}

  std::variant<std::vector<pipeline::StoreEntry>, std::string> lookup(
      const std::vector<std::string>& keys) override;
  std::optional<std::string> mark_pending(const std::vector<Pending>& items) override;
  std::optional<std::string> mark_imported(const std::vector<Imported>& items) override;
  void record_duplicates(const std::vector<std::string>& keys) override;

private:
  dedup::DedupStore& store_;
};

}  // namespace ib::app
