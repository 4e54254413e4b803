// Benchmark (not a ctest test): how fast a member restores dedup state from the changelog.
// Fills a compacted changelog topic on a real broker with N records as the daemon writes
// them (imported entries: 16-byte fingerprint, 36-character record id, timestamps), then
// restores every partition into a new RocksDB store one after the other, as the daemon's
// restore worker does (restore_partition, chunks of 2,000 records). Prints the produce
// rate, the restore time and rate (keys/s) and VmHWM. docs/benchmarks.md, "Changelog".
//
//   changelog_bench --bootstrap HOST:PORT [--keys N] [--partitions P] [--dir PATH]
#include "core/clock.hpp"
#include "dedup/changelog_codec.hpp"
#include "dedup/rocksdb_dedup_store.hpp"
#include "kafka/admin.hpp"
#include "pipeline/changelog_restorer.hpp"
#include "testing/bench_util.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "changelog_bench: %s\n", what.c_str());
  std::exit(1);
}

class FailCounter : public RdKafka::DeliveryReportCb {
public:
  void dr_cb(RdKafka::Message& m) override {
    if (m.err() != RdKafka::ERR_NO_ERROR) ++failed;
  }
  std::uint64_t failed = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string bootstrap;
  std::uint64_t keys = 1'000'000;
  int partitions = 4;
  std::filesystem::path dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--bootstrap") bootstrap = next();
    else if (a == "--keys") keys = std::stoull(next());
    else if (a == "--partitions") partitions = std::stoi(next());
    else if (a == "--dir") dir = next();
    else {
      std::fprintf(stderr, "usage: %s --bootstrap HOST:PORT [--keys N] [--partitions P] [--dir PATH]\n", argv[0]);
      return 64;
    }
  }
  if (bootstrap.empty()) die("--bootstrap is required");
  if (dir.empty()) dir = std::filesystem::temp_directory_path() / ("changelog-bench-" + std::to_string(::getpid()));
  const std::string topic = "changelog-bench-" + std::to_string(::getpid()) + ".dedup-changelog";

  ib::kafka::Properties props{{"bootstrap.servers", bootstrap}};
  if (auto r = ib::kafka::ensure_topics(
          props, {{topic, partitions, 1, {{"cleanup.policy", "compact"}}}}, std::chrono::seconds(30));
      !r) {
    die(r.error().message);
  }

  // 1. The changelog, as members write it.
  {
    FailCounter dr;
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", bootstrap, err);
    conf->set("linger.ms", "20", err);
    conf->set("compression.type", "lz4", err);
    conf->set("queue.buffering.max.messages", "1000000", err);
    conf->set("dr_cb", &dr, err);
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
    if (!producer) die("producer: " + err);
    const auto now = ib::core::system_clock().now();
    ib::dedup::Entry entry;
    entry.state = ib::core::StoreState::imported;
    entry.attempt = 1;
    entry.state_since = entry.first_seen = entry.last_seen = now;
    const auto t = Clock::now();
    for (std::uint64_t k = 0; k < keys; ++k) {
      entry.fingerprint.assign(16, static_cast<char>(k * 2654435761u));
      char id[40];
      std::snprintf(id, sizeof id, "%08llx-0000-4000-8000-%012llx", static_cast<unsigned long long>(k >> 16),
                    static_cast<unsigned long long>(k));
      entry.record_id = id;
      const auto key = ib::testing::bench::dedup_key(k, 997);
      const auto value = ib::dedup::encode_changelog_value(entry);
      for (;;) {
        const auto e = producer->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                                         const_cast<char*>(value.data()), value.size(), key.data(), key.size(),
                                         0, nullptr);
        if (e == RdKafka::ERR_NO_ERROR) break;
        if (e != RdKafka::ERR__QUEUE_FULL) die("produce: " + RdKafka::err2str(e));
        producer->poll(50);
      }
      producer->poll(0);
    }
    if (producer->flush(600000) != RdKafka::ERR_NO_ERROR || dr.failed != 0) die("not every record was delivered");
    const double s = ib::testing::bench::seconds_since(t);
    std::printf("changelog: %llu records in %d partitions written in %.1f s (%.0f records/s)\n",
                static_cast<unsigned long long>(keys), partitions, s, static_cast<double>(keys) / s);
  }

  // 2. A new member's restore: every partition, one after the other, into an empty store.
  ib::dedup::DedupConfig config;
  config.path = dir;
  auto opened = ib::dedup::RocksDbDedupStore::open(config, ib::core::system_clock());
  if (!opened) die(opened.error().message);
  ib::pipeline::ChangelogRestoreConfig restore;
  restore.topic = topic;
  restore.read.properties = props;
  std::uint64_t restored = 0;
  const auto t = Clock::now();
  for (int p = 0; p < partitions; ++p) {
    const auto tp = Clock::now();
    auto report = ib::pipeline::restore_partition(restore, **opened, p);
    if (!report) die("restore of partition " + std::to_string(p) + ": " + report.error());
    restored += report->applied.written;
    std::printf("partition %d: %llu keys in %.2f s\n", p, static_cast<unsigned long long>(report->applied.written),
                ib::testing::bench::seconds_since(tp));
  }
  const double s = ib::testing::bench::seconds_since(t);
  std::printf("restore: %llu keys in %.1f s (%.0f keys/s)\n", static_cast<unsigned long long>(restored), s,
              static_cast<double>(restored) / s);
  std::printf("memory: VmHWM %s\n", ib::testing::bench::proc_status_field("VmHWM:").c_str());
  if (restored != keys) die("restored " + std::to_string(restored) + " keys, wrote " + std::to_string(keys));
  opened->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
