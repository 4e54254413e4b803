#include "pipeline/changelog_restorer.hpp"

#include "core/log.hpp"

#include <boost/asio/post.hpp>

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

namespace ib::pipeline {

boost::system::result<RestoreReport, std::string> restore_partition(
    const ChangelogRestoreConfig& config, dedup::DedupStore& store, std::int32_t partition,
    const std::atomic<bool>* cancel, const std::function<void(const kafka::PartitionRange&)>& on_start,
    const std::function<void(const dedup::RestoreApplied&, std::int64_t)>& on_chunk) {
  const auto started = std::chrono::steady_clock::now();
  RestoreReport report;
  report.partition = partition;
  auto checkpoint = store.changelog_checkpoint(config.topic, partition);
  if (!checkpoint) return "dedup store: " + checkpoint.error().message;
  std::optional<std::string> store_error;
  std::vector<dedup::ChangelogRecord> records;
  auto range = kafka::read_partition(
      config.topic, partition, *checkpoint, config.read, config.chunk,
      [&](const kafka::PartitionRange& r) {
        report.from = r.from;
        report.to = r.to;
        if (on_start) on_start(r);
      },
      [&](std::vector<kafka::Message>& messages, std::int64_t next_offset) {
        records.clear();
        records.reserve(messages.size());
        for (auto& m : messages) {
          if (!m.has_key || m.key.empty()) continue;  // not ours: nothing to apply
          records.push_back({std::move(m.key), std::move(m.value)});
        }
        auto applied = store.apply_changelog(config.topic, partition, records, next_offset);
        if (!applied) {
          store_error = "dedup store: " + applied.error().message;
          return false;
        }
        report.applied.written += applied->written;
        report.applied.expired += applied->expired;
        report.applied.deleted += applied->deleted;
        if (on_chunk) on_chunk(report.applied, next_offset);
        return true;
      },
      cancel);
  if (store_error) return *store_error;
  if (!range) return range.error().message;
  report.took = std::chrono::steady_clock::now() - started;
  return report;
}

struct ChangelogRestorer::Impl {
  struct Job {
    std::int32_t partition;
    std::shared_ptr<std::atomic<bool>> cancelled;
    std::function<void(std::optional<std::string>)> done;
  };

  boost::asio::any_io_executor executor;
  ChangelogRestoreConfig config;
  dedup::DedupStore& store;
  PipelineMetrics* metrics;
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Job> queue;
  std::optional<Job> running;  // guarded by mutex (its flag is read by the worker)
  bool stopping = false;
  std::thread worker;

  Impl(boost::asio::any_io_executor ex, ChangelogRestoreConfig c, dedup::DedupStore& s, PipelineMetrics* m)
      : executor(std::move(ex)), config(std::move(c)), store(s), metrics(m) {}

  void run() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [&] { return stopping || !queue.empty(); });
        if (stopping) return;
        job = std::move(queue.front());
        queue.pop_front();
        running = job;
      }
      auto result = restore_one(job);
      {
        std::lock_guard lock(mutex);
        running.reset();
        if (stopping) return;
      }
      boost::asio::post(executor, [done = std::move(job.done), result = std::move(result)]() mutable {
        done(std::move(result));
      });
    }
  }

  std::optional<std::string> restore_one(const Job& job) {
    if (job.cancelled->load()) return std::string("cancelled");
    if (metrics) metrics->restoring(job.partition, true);
    auto report = restore_partition(config, store, job.partition, job.cancelled.get(),
                                    [&](const kafka::PartitionRange& r) {
                                      log::info("changelog restore started",
                                                {{"topic", config.topic},
                                                 {"partition", std::to_string(job.partition)},
                                                 {"from_offset", std::to_string(r.from)},
                                                 {"to_offset", std::to_string(r.to)}});
                                    });
    if (metrics) metrics->restoring(job.partition, false);
    if (!report) {
      if (!job.cancelled->load()) {
        log::error("changelog restore failed",
                   {{"partition", std::to_string(job.partition)}, {"error", report.error()}});
      }
      return report.error();
    }
    const double seconds = std::chrono::duration<double>(report->took).count();
    if (metrics) {
      metrics->restored_keys(report->applied.written);
      metrics->restore_duration(report->took);
    }
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.3f", seconds);
    log::info("changelog restore finished",
              {{"topic", config.topic},
               {"partition", std::to_string(job.partition)},
               {"from_offset", std::to_string(report->from)},
               {"to_offset", std::to_string(report->to)},
               {"keys", std::to_string(report->applied.written)},
               {"expired_skipped", std::to_string(report->applied.expired)},
               {"seconds", secs}});
    return std::nullopt;
  }
};

ChangelogRestorer::ChangelogRestorer(boost::asio::any_io_executor executor, ChangelogRestoreConfig config,
                                     dedup::DedupStore& store, PipelineMetrics* metrics)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(config), store, metrics)) {
  impl_->worker = std::thread([impl = impl_.get()] { impl->run(); });
}

ChangelogRestorer::~ChangelogRestorer() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
    for (auto& j : impl_->queue) j.cancelled->store(true);
    if (impl_->running) impl_->running->cancelled->store(true);
  }
  impl_->wake.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
}

void ChangelogRestorer::start(std::int32_t partition, std::function<void(std::optional<std::string>)> done) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->queue.push_back({partition, std::make_shared<std::atomic<bool>>(false), std::move(done)});
  }
  impl_->wake.notify_one();
}

void ChangelogRestorer::cancel(std::int32_t partition) {
  std::lock_guard lock(impl_->mutex);
  for (auto& j : impl_->queue) {
    if (j.partition == partition) j.cancelled->store(true);
  }
  if (impl_->running && impl_->running->partition == partition) impl_->running->cancelled->store(true);
}

}  // namespace ib::pipeline
