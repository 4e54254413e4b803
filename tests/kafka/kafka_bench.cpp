// Micro-benchmarks of the pure parts of ib::kafka (not a ctest test):
//   build-kafka/tests/kafka/kafka_bench
// Prints one line per figure; docs/benchmarks.md quotes them.
#include "kafka/event_queue.hpp"
#include "kafka/headers.hpp"
#include "kafka/offset_tracker.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

using namespace ib::kafka;
using Clock = std::chrono::steady_clock;

namespace {

double per_second(std::size_t n, Clock::duration d) {
  return static_cast<double>(n) / std::chrono::duration<double>(d).count();
}

void bench_tracker() {
  constexpr std::int64_t kOffsets = 2'000'000;
  constexpr std::int64_t kWindow = 1000;  // in flight at once, finished in random order
  OffsetTracker t(kWindow);
  const TopicPartition tp{"invoices", 0};
  std::mt19937 rng(42);
  std::vector<std::int64_t> window;
  std::int64_t stores = 0;
  const auto start = Clock::now();
  for (std::int64_t base = 0; base < kOffsets; base += kWindow) {
    window.clear();
    for (std::int64_t o = base; o < base + kWindow; ++o) {
      t.track(tp, o);
      window.push_back(o);
    }
    std::shuffle(window.begin(), window.end(), rng);
    for (const auto o : window) stores += t.mark_done(tp, o).has_value() ? 1 : 0;
  }
  const auto took = Clock::now() - start;
  std::printf("offset_tracker: %.2f M offsets/s tracked+done (window %lld, random order), %lld stores\n",
              per_second(kOffsets, took) / 1e6, static_cast<long long>(kWindow),
              static_cast<long long>(stores));
}

void bench_headers() {
  constexpr int kRounds = 200'000;
  RetryHistory h{3, 1'700'000'000'000, 503, "Service Unavailable", {"invoices", 7, 123456}};
  std::size_t ok = 0;
  const auto start = Clock::now();
  for (int i = 0; i < kRounds; ++i) {
    Headers headers{{"traceparent", "00-abc-def-01"}};
    h.attempt = 1 + i % 5;
    encode_retry(headers, h);
    ok += decode_retry(headers).has_value() ? 1 : 0;
  }
  const auto took = Clock::now() - start;
  std::printf("headers: %.2f M retry encode+decode/s (%zu ok)\n",
              per_second(kRounds, took) / 1e6, ok);
}

void bench_queue() {
  constexpr std::size_t kEvents = 1'000'000;
  EventQueue q;
  const auto start = Clock::now();
  std::thread producer([&] {
    for (std::size_t i = 0; i < kEvents; ++i) {
      Message m;
      m.topic = "invoices";
      m.offset = static_cast<std::int64_t>(i);
      m.value.assign(200, 'x');
      q.push(std::move(m));
    }
  });
  std::size_t taken = 0;
  while (taken < kEvents) {
    const auto batch = q.take(256);
    taken += batch.size();
    if (batch.empty()) std::this_thread::yield();
  }
  producer.join();
  const auto took = Clock::now() - start;
  std::printf("event_queue: %.2f M messages/s from a pushing thread to a taking thread (200 B values)\n",
              per_second(kEvents, took) / 1e6);
}

}  // namespace

int main() {
  bench_tracker();
  bench_headers();
  bench_queue();
}
