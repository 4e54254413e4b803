// End-to-end benchmark of `invoice-bridge run` (docs/benchmarks.md, "Daemon end to end"):
// a real Kafka broker, the daemon as its own process with the default batch/send settings,
// the simulator in this process over loopback HTTP. Not a ctest test.
//
//   daemon_bench --bootstrap HOST:PORT --binary build/daemon/invoice-bridge
//                [--invoices N] [--rate R] [--timeline]
//
// Without --rate: N invoices are produced first, then the daemon starts and drains them
// (throughput). With --rate: the daemon runs first and invoices are produced at R per
// second (latency from produce to the record's creation in D365 at that load).
// Prints invoices/s, latency p50/p99, API requests per invoice, the daemon's CPU time per
// invoice and its peak resident memory.
#include "daemon_process.hpp"
#include "sim/simulator.hpp"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace ib::testing::daemon;
using SystemClock = std::chrono::system_clock;

namespace {

struct Options {
  std::string bootstrap;
  std::string binary;
  int invoices = 20000;
  double rate = 0;  // 0: produce everything first
  bool timeline = false;
};

std::string invoice_json(int i) {
  return R"({"vendor_account":"V)" + std::to_string(i % 13) + R"(","invoice_number":"B-)" + std::to_string(i) +
         R"(","company":"ACME","invoice_date":"2026-11-01","due_date":"2026-12-01","currency":"EUR",)"
         R"("amount":)" + std::to_string(100 + i % 900) + R"(.25,"tax":19.05,"description":"benchmark invoice",)"
         R"("lines":[{"description":"item","amount":)" + std::to_string(100 + i % 900) + ".25}]}";
}

// /proc/PID: CPU seconds (user + system) and peak resident set (KiB).
std::pair<double, long> cpu_and_peak_rss(pid_t pid) {
  double cpu = 0;
  {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    std::istringstream rest(text.substr(text.rfind(')') + 2));
    std::string field;
    unsigned long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoul(field);
      if (i == 15) stime = std::stoul(field);
    }
    cpu = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  long hwm = 0;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) hwm = std::stol(line.substr(6));
  }
  return {cpu, hwm};
}

class Producer {
public:
  explicit Producer(const std::string& bootstrap) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", bootstrap, err);
    conf->set("linger.ms", "2", err);
    producer_.reset(RdKafka::Producer::create(conf.get(), err));
    if (!producer_) throw std::runtime_error("producer: " + err);
  }
  void produce(const std::string& topic, const std::string& key, const std::string& value) {
    for (;;) {
      const auto rc = producer_->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                                         const_cast<char*>(value.data()), value.size(), key.data(), key.size(),
                                         0, nullptr);
      if (rc == RdKafka::ERR_NO_ERROR) break;
      if (rc != RdKafka::ERR__QUEUE_FULL) throw std::runtime_error("produce: " + RdKafka::err2str(rc));
      producer_->poll(10);
    }
    producer_->poll(0);
  }
  void flush() { producer_->flush(60000); }

private:
  std::unique_ptr<RdKafka::Producer> producer_;
};

std::filesystem::path bench_config(const std::filesystem::path& dir, const std::string& bootstrap,
                                   const std::string& name, const std::string& d365_url) {
  const auto path = dir / "bench.yaml";
  std::ofstream out(path);
  // Defaults everywhere (batch 100 / 50 ms linger, 4 in flight, fsync periodic) except
  // the log level, the topics and the local paths.
  out << "log:\n  level: warn\n"
      << "kafka:\n  bootstrap_servers: " << bootstrap << "\n  group_id: " << name << "-group\n"
      << "  topics:\n    input: " << name << "\n    retry: " << name << ".retry\n    review: " << name
      << ".review\n"
      << "dedup:\n  path: " << (dir / "dedup").string() << "\n"
      << "metrics:\n  address: 127.0.0.1\n  port: 0\n"
      << "d365:\n  base_url: " << d365_url << "\n";
  return path;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

int run(const Options& o) {
  setenv("IB_INVOICE_BRIDGE", o.binary.c_str(), 1);
  const auto dir = std::filesystem::temp_directory_path() /
                   ("ib-daemon-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  ib::sim::Simulator sim(ib::sim::SimOptions{});
  const auto name = "bench-" + std::to_string(getpid()) + "-" + std::to_string(std::random_device{}());
  const auto config = bench_config(dir, o.bootstrap, name, sim.base_url());
  Producer producer(o.bootstrap);
  std::map<std::string, SystemClock::time_point> produced_at;  // invoice number -> when produced

  auto produce = [&](int i) {
    produced_at["B-" + std::to_string(i)] = SystemClock::now();
    producer.produce(name, "ACME|V" + std::to_string(i % 13) + "|B-" + std::to_string(i), invoice_json(i));
  };

  std::optional<DaemonProcess> daemon;
  const auto started = SteadyClock::now();
  if (o.rate <= 0) {
    for (int i = 0; i < o.invoices; ++i) produce(i);
    producer.flush();
    daemon.emplace(config, dir / "daemon.log");
  } else {
    // Warm up: the daemon has joined the group and imported one invoice before the clock runs.
    producer.produce(name, "warmup", invoice_json(-1));
    producer.flush();
    daemon.emplace(config, dir / "daemon.log");
    if (!wait_for([&] { return sim.stats().records >= 1; }, 120s)) {
      std::fprintf(stderr, "daemon did not start; log in %s\n", (dir / "daemon.log").c_str());
      return 1;
    }
    const auto period = std::chrono::duration<double>(1.0 / o.rate);
    const auto t0 = SteadyClock::now();
    for (int i = 0; i < o.invoices; ++i) {
      std::this_thread::sleep_until(t0 + std::chrono::duration_cast<SteadyClock::duration>(period * i));
      produce(i);
    }
    producer.flush();
  }
  const std::uint64_t expected = static_cast<std::uint64_t>(o.invoices) + (o.rate > 0 ? 1 : 0);
  if (!wait_for([&] { return sim.stats().records >= expected; }, 600s)) {
    std::fprintf(stderr, "timed out: %llu of %llu records\n",
                 static_cast<unsigned long long>(sim.stats().records), static_cast<unsigned long long>(expected));
    return 1;
  }
  const auto total = std::chrono::duration<double>(SteadyClock::now() - started).count();
  const auto [cpu, rss_kib] = cpu_and_peak_rss(daemon->pid());
  const auto stats = sim.stats();
  daemon->signal(SIGTERM);
  const auto rc = daemon->wait(60s);

  std::vector<double> latency_ms;
  SystemClock::time_point first = SystemClock::time_point::max(), last{};
  for (const auto& r : sim.records()) {
    const auto it = produced_at.find(r.key.at(1));
    if (it == produced_at.end()) continue;  // the warm-up invoice
    latency_ms.push_back(std::chrono::duration<double, std::milli>(r.created_at - it->second).count());
    first = std::min(first, r.created_at);
    last = std::max(last, r.created_at);
  }
  const double span = std::chrono::duration<double>(last - first).count();
  if (o.timeline) {  // creations per 100 ms window: shows stalls and bursts
    std::printf("timeline (100 ms window: records created)\n");
    std::map<long, int> per100;
    for (const auto& r : sim.records()) per100[std::chrono::duration_cast<std::chrono::milliseconds>(r.created_at - first).count() / 100]++;
    for (auto [k, v] : per100) std::printf("%ld:%d ", k, v);
    std::printf("\n");
  }
  std::printf("invoices            %d (%s)\n", o.invoices,
              o.rate > 0 ? ("produced at " + std::to_string(static_cast<int>(o.rate)) + "/s").c_str()
                         : "produced before the daemon started");
  std::printf("throughput          %.0f invoices/s (first to last creation), %.1f s wall incl. startup\n",
              span > 0 ? static_cast<double>(latency_ms.size()) / span : 0.0, total);
  std::printf("latency p50 / p99   %.1f ms / %.1f ms (produce -> created in D365)\n", percentile(latency_ms, 0.5),
              percentile(latency_ms, 0.99));
  std::printf("requests/invoice    %.4f (%llu HTTP requests)\n",
              static_cast<double>(stats.requests) / static_cast<double>(expected),
              static_cast<unsigned long long>(stats.requests));
  std::printf("daemon CPU          %.2f s total, %.1f us/invoice\n", cpu, cpu * 1e6 / static_cast<double>(expected));
  std::printf("daemon peak RSS     %.1f MiB\n", static_cast<double>(rss_kib) / 1024.0);
  std::printf("created once        %s\n",
              stats.creates_per_key_histogram.size() == 1 && stats.creates_per_key_histogram.begin()->first == 1
                  ? "yes"
                  : "NO");
  std::printf("daemon exit         %d\n", rc.value_or(-1));
  std::filesystem::remove_all(dir);
  return rc == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--timeline") {
      o.timeline = true;
      continue;
    }
    if (i + 1 >= argc) break;
    const std::string flag = argv[i++];
    const std::string value = argv[i];
    if (flag == "--bootstrap") o.bootstrap = value;
    else if (flag == "--binary") o.binary = value;
    else if (flag == "--invoices") o.invoices = std::stoi(value);
    else if (flag == "--rate") o.rate = std::stod(value);
    else {
      std::fprintf(stderr, "unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (o.bootstrap.empty() || o.binary.empty()) {
    std::fprintf(stderr, "usage: daemon_bench --bootstrap HOST:PORT --binary PATH [--invoices N] [--rate R] [--timeline]\n");
    return 2;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "daemon_bench: %s\n", e.what());
    return 1;
  }
}
