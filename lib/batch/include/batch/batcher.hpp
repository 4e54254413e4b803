#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ib::batch {

/// When a batch closes.
struct BatcherConfig {
  /// Most items in one batch; the sender's limit per request bounds it (validate()).
  std::size_t max_items = 100;
  /// Most payload bytes in one batch (sum of the items' sizes); keeps requests under
  /// proxies' and the server's body limits.
  std::size_t max_bytes = 4 * 1024 * 1024;
  /// How long the first item of a batch may wait for company before the batch closes.
  std::chrono::milliseconds linger{50};

  /// Every problem at once; empty when valid. `server_max_items`: the most items the
  /// receiving side takes in one request (for D365, odata::kMaxBatchRequests).
  std::vector<std::string> validate(std::size_t server_max_items) const;
};

/// Groups items into batches that close on size, bytes or a linger deadline. Pure: the
/// caller supplies the time and arms its own timer from `deadline()`. Not thread-safe.
template <typename T>
class Batcher {
public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit Batcher(BatcherConfig config) : config_(std::move(config)) {}

  /// Adds `item` of `bytes` payload at time `now`. Returns the batch it closed, if any:
  /// the current batch when this item would push it over `max_bytes` (the item then
  /// starts the next batch), or the batch including this item when it reaches
  /// `max_items` or `max_bytes`. An item bigger than `max_bytes` travels alone.
  std::optional<std::vector<T>> add(T item, std::size_t bytes, TimePoint now) {
    std::optional<std::vector<T>> closed;
    if (!items_.empty() && bytes_ + bytes > config_.max_bytes) closed = take();
    if (items_.empty()) opened_ = now;
    items_.push_back(std::move(item));
    bytes_ += bytes;
    if (!closed && (items_.size() >= config_.max_items || bytes_ >= config_.max_bytes)) {
      closed = take();
    }
    return closed;
  }

  /// When the open batch must close (its first item's time + linger); nullopt if empty.
  std::optional<TimePoint> deadline() const {
    if (items_.empty()) return std::nullopt;
    return opened_ + config_.linger;
  }

  /// The open batch if its deadline has passed at `now`.
  std::optional<std::vector<T>> poll(TimePoint now) {
    if (!items_.empty() && now >= opened_ + config_.linger) return take();
    return std::nullopt;
  }

  /// The open batch, whatever its size (shutdown, drain); empty if none.
  std::vector<T> flush() { return take(); }

  std::size_t size() const { return items_.size(); }
  std::size_t bytes() const { return bytes_; }
  bool empty() const { return items_.empty(); }

private:
  std::vector<T> take() {
    std::vector<T> out;
    out.swap(items_);
    bytes_ = 0;
    return out;
  }

  BatcherConfig config_;
  std::vector<T> items_;
  std::size_t bytes_ = 0;
  TimePoint opened_{};
};

}  // namespace ib::batch
