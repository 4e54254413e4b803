#include "demo/demo.hpp"

#include "app/daemon.hpp"
#include "app/daemon.hpp"
#include "app/daemon_config.hpp"
#include "core/log.hpp"
#include "demo/invoice_stream.hpp"
#include "kafka/headers.hpp"
#include "kafka/mock_cluster.hpp"
#include "kafka/rdkafka_producer.hpp"
#include "kafka/topic_reader.hpp"
#include "sim/simulator.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <mutex>

#include <atomic>
#include <cmath>
#include <deque>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

namespace ib::demo {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kPartitions = 4;
constexpr const char* kInput = "invoices";
constexpr const char* kRetry = "invoices.retry";
constexpr const char* kReview = "invoices.review";
constexpr const char* kGroup = "invoice-bridge-demo";

// The dedup store's directory: a temporary one is removed with everything in it.
class StateDir {
public:
  explicit StateDir(const std::string& given) {
    if (!given.empty()) {
      path_ = given;
      fs::create_directories(path_);
      return;
    }
    std::string pattern = (fs::temp_directory_path() / "invoice-bridge-demo-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a temporary directory");
    path_ = pattern;
    temporary_ = true;
  }
  ~StateDir() {
    if (!temporary_) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;

  const fs::path& path() const { return path_; }
  bool temporary() const { return temporary_; }

private:
  fs::path path_;
  bool temporary_ = false;
};

// One scrape of the daemon's /metrics: `name{labels}` -> value.
using Samples = std::map<std::string, double>;

// GET http://127.0.0.1:PORT/metrics, bounded by 2 s; empty on any failure.
Samples scrape(const std::string& base_url) {
  Samples out;
  const auto colon = base_url.rfind(':');
  if (colon == std::string::npos || base_url.compare(0, 7, "http://") != 0) return out;
  const std::string host = base_url.substr(7, colon - 7);
  const std::string port = base_url.substr(colon + 1);
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  asio::ip::tcp::socket socket(io);
  std::string request = "GET /metrics HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
  std::string response;
  resolver.async_resolve(host, port, [&](boost::system::error_code ec, auto endpoints) {
    if (ec) return;
    asio::async_connect(socket, endpoints, [&](boost::system::error_code ec2, auto) {
      if (ec2) return;
      asio::async_write(socket, asio::buffer(request), [&](boost::system::error_code ec3, std::size_t) {
        if (ec3) return;
        asio::async_read(socket, asio::dynamic_buffer(response),
                         [](boost::system::error_code, std::size_t) {});
      });
    });
  });
  io.run_for(2s);
  boost::system::error_code ignored;
  socket.close(ignored);
  const auto body = response.find("\r\n\r\n");
  if (body == std::string::npos) return out;
  std::istringstream lines(response.substr(body + 4));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    try {
      out[line.substr(0, space)] = std::stod(line.substr(space + 1));
    } catch (const std::exception&) {
    }
  }
  return out;
}

// What the progress line and the summary read from the metrics.
struct Counts {
  std::uint64_t imported = 0, recovered = 0, duplicate = 0, conflict = 0, invalid = 0, rejected = 0,
                exhausted = 0, retried = 0, throttle_events = 0, consumed_retry = 0;
  bool valid = false;

  std::uint64_t final_outcomes() const {
    return imported + recovered + duplicate + conflict + invalid + rejected + exhausted;
  }
  std::uint64_t in_review() const { return conflict + invalid + rejected + exhausted; }

  static Counts from(const Samples& s) {
    Counts c;
    c.valid = !s.empty();
    auto get = [&s](const std::string& name) {
      const auto it = s.find(name);
      return it == s.end() ? std::uint64_t{0} : static_cast<std::uint64_t>(it->second);
    };
    auto outcome = [&](const char* o) { return get(std::string("ib_invoices_total{outcome=\"") + o + "\"}"); };
    c.imported = outcome("imported");
    c.recovered = outcome("recovered");
    c.duplicate = outcome("duplicate");
    c.conflict = outcome("conflict");
    c.invalid = outcome("invalid");
    c.rejected = outcome("rejected");
    c.exhausted = outcome("exhausted");
    c.retried = outcome("retried");
    c.throttle_events = get("ib_throttle_events_total");
    c.consumed_retry = get("ib_messages_consumed_total{topic_kind=\"retry\"}");
    return c;
  }
};

std::string seconds_text(Clock::duration d) {
  char out[32];
  std::snprintf(out, sizeof out, "%.1f s", std::chrono::duration<double>(d).count());
  return out;
}

// Progress on stderr: a line rewritten in place, or plain lines now and then.
class ProgressPrinter {
public:
  ProgressPrinter(std::ostream& err, Progress mode, std::chrono::milliseconds interval)
      : err_(err), mode_(mode), interval_(interval) {
    if (mode_ == Progress::automatic) mode_ = ::isatty(STDERR_FILENO) == 1 ? Progress::refresh : Progress::lines;
  }

  void update(const Counts& c, std::size_t total, std::size_t expected_unique, Clock::duration elapsed,
              bool force = false) {
    if (mode_ == Progress::none || !c.valid) return;
    const auto now = Clock::now();
    const auto every = mode_ == Progress::refresh ? std::chrono::milliseconds(500) : interval_;
    if (!force && now < next_) return;
    next_ = now + every;
    // The rate over the last ~2 s (outcomes arrive in bursts, one batch at a time), or over
    // the last two lines when they come further apart.
    const auto done = c.final_outcomes();
    samples_.emplace_back(now, done);
    const Clock::duration window = std::max<Clock::duration>(2s, 2 * every);
    while (samples_.size() > 2 && now - samples_.front().first > window) samples_.pop_front();
    const double dt = std::chrono::duration<double>(now - samples_.front().first).count();
    const double rate =
        dt > 0 && done >= samples_.front().second ? static_cast<double>(done - samples_.front().second) / dt : 0.0;
    char line[256];
    std::snprintf(line, sizeof line,
                  "%6.1f s  %6.0f msg/s  imported %llu/%zu  duplicates %llu  retries %llu  in review %llu  "
                  "outcomes %llu/%zu",
                  std::chrono::duration<double>(elapsed).count(), rate,
                  static_cast<unsigned long long>(c.imported + c.recovered), expected_unique,
                  static_cast<unsigned long long>(c.duplicate), static_cast<unsigned long long>(c.retried),
                  static_cast<unsigned long long>(c.in_review()), static_cast<unsigned long long>(done), total);
    if (mode_ == Progress::refresh) {
      // The cursor goes back to the start: a log line written meanwhile replaces the
      // progress line instead of being glued to its end; the next update redraws it.
      err_ << "\r\033[K" << line << '\r' << std::flush;
      open_ = true;
    } else {
      err_ << "progress: " << line << '\n' << std::flush;
    }
  }

  // A one-off event line (throttling starts...), kept above the refreshed line.
  void note(const std::string& text) {
    if (mode_ == Progress::none) return;
    if (open_) err_ << "\033[K";
    err_ << text << '\n' << std::flush;
    next_ = {};  // redraw at the next update
    open_ = false;
  }

  void finish() {
    if (open_) err_ << '\n' << std::flush;
    open_ = false;
  }

private:
  std::ostream& err_;
  Progress mode_;
  std::chrono::milliseconds interval_;
  Clock::time_point next_{};
  std::deque<std::pair<Clock::time_point, std::uint64_t>> samples_;
  bool open_ = false;
};

// Produces the generated records to the input topic through lib/kafka's producer
// (idempotent, acks=all). The mock cluster keeps only ~5 MiB per partition (librdkafka
// 2.0.2's mock log drops its oldest messages beyond that, read or not, and has no setting for
// it), so the main stream is fed in step with the daemon: at most kWindow messages ahead of
// the outcomes, far below that limit (docs/cli.md).
class Feeder {
public:
  explicit Feeder(const std::string& bootstrap) {
    kafka::ProducerConfig c;
    c.bootstrap_servers = bootstrap;
    c.delivery_timeout = 30s;
    c.close_timeout = 30s;
    producer_ = std::make_unique<kafka::RdKafkaProducer>(c);
  }

  // Queues records[next..] while fewer than `window` are ahead of `done`; returns the new next.
  std::size_t feed(const std::vector<StreamRecord>& records, std::size_t next, std::uint64_t done,
                   std::size_t window) {
    while (next < records.size() && next < done + window) {
      kafka::OutgoingMessage m;
      m.topic = kInput;
      m.key = records[next].key;
      m.value = records[next].value;
      producer_->produce(std::move(m), [this](const kafka::DeliveryReport& r) {
        if (r.ok()) return;
        std::lock_guard lock(mutex_);
        if (error_.empty()) error_ = r.error.message();
      });
      ++next;
    }
    return next;
  }

  // Waits for every delivery report; the first delivery error, or empty.
  std::string flush() {
    if (!producer_->flush(60s)) return "flush timed out";
    std::lock_guard lock(mutex_);
    return error_;
  }
  std::string error() const {
    std::lock_guard lock(mutex_);
    return error_;
  }

private:
  std::unique_ptr<kafka::RdKafkaProducer> producer_;
  mutable std::mutex mutex_;
  std::string error_;
};

// Messages the feeder keeps ahead of the outcomes: ~10,000 x <= 1 KiB over 4 partitions is
// ~2.5 MiB a partition, half of what the mock cluster keeps.
constexpr std::size_t kWindow = 10000;

// What the Kafka side holds after the run, read without joining the group.
struct KafkaFacts {
  std::map<std::string, std::uint64_t> review_reasons;  // ib-review-reason -> messages
  std::uint64_t review_messages = 0;
  std::uint64_t input_end = 0, input_committed = 0;  // sums over partitions
  std::uint64_t retry_end = 0, retry_committed = 0;
  std::string error;
};

KafkaFacts read_kafka(const std::string& bootstrap) {
  KafkaFacts facts;
  kafka::TopicReadOptions options;
  options.properties = {{"bootstrap.servers", bootstrap}};
  options.timeout = 30s;
  auto sums = [&](const char* topic, std::uint64_t& end_sum, std::uint64_t& committed_sum) {
    auto offsets = kafka::read_group_offsets(topic, kGroup, options);
    if (!offsets) {
      if (facts.error.empty()) facts.error = offsets.error().message;
      return;
    }
    for (const auto& p : *offsets) {
      end_sum += static_cast<std::uint64_t>(p.end);
      // A partition never written to has nothing to commit.
      committed_sum += static_cast<std::uint64_t>(p.end == 0 ? 0 : std::max<std::int64_t>(p.committed, 0));
    }
  };
  sums(kInput, facts.input_end, facts.input_committed);
  sums(kRetry, facts.retry_end, facts.retry_committed);

  auto review = kafka::read_topic_snapshot(kReview, options);
  if (!review) {
    if (facts.error.empty()) facts.error = review.error().message;
    return facts;
  }
  for (const auto& m : *review) {
    ++facts.review_messages;
    std::string reason = "(none)";
    for (const auto& [name, value] : m.headers) {
      if (name == kafka::header::kReviewReason) reason = value;
    }
    ++facts.review_reasons[reason];
  }
  return facts;
}

// SIGTERM / SIGINT while the demo runs: the handler only records the signal; the run loop
// sees it, stops the daemon in order, prints the summary so far and removes the temporary
// store. The previous handlers come back when the demo returns.
std::atomic<int> g_signal{0};

extern "C" void on_stop_signal(int sig) { g_signal.store(sig); }

class StopSignals {
public:
  StopSignals() {
    g_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = &on_stop_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGTERM, &sa, &old_term_);
    ::sigaction(SIGINT, &sa, &old_int_);
  }
  ~StopSignals() {
    ::sigaction(SIGTERM, &old_term_, nullptr);
    ::sigaction(SIGINT, &old_int_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  int received() const { return g_signal.load(); }

private:
  struct sigaction old_term_ {};
  struct sigaction old_int_ {};
};

// The simulator's records against the expected invoices.
struct RecordCheck {
  std::size_t found = 0;       // expected keys present
  std::size_t missing = 0;     // expected keys absent
  std::size_t wrong_amount = 0;
  std::size_t unexpected = 0;  // records nobody asked for
  std::string example;         // one problem, for the summary
};

RecordCheck check_records(const std::vector<sim::SimRecord>& records, const std::vector<ExpectedInvoice>& expected) {
  std::map<std::pair<std::string, std::string>, std::int64_t> want;
  for (const auto& e : expected) want[{e.vendor_account, e.invoice_number}] = e.amount_cents;
  RecordCheck check;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& r : records) {
    if (r.key.size() != 2) {
      ++check.unexpected;
      continue;
    }
    const std::pair<std::string, std::string> key{r.key[0], r.key[1]};
    const auto it = want.find(key);
    if (it == want.end()) {
      ++check.unexpected;
      if (check.example.empty()) check.example = "unexpected record " + key.first + " / " + key.second;
      continue;
    }
    seen.insert(key);
    double amount = std::nan("");
    boost::system::error_code ec;
    const auto doc = boost::json::parse(r.json, ec);
    if (!ec && doc.is_object()) {
      if (const auto* a = doc.as_object().if_contains("Amount")) {
        if (a->is_double()) amount = a->as_double();
        if (a->is_int64()) amount = static_cast<double>(a->as_int64());
        if (a->is_uint64()) amount = static_cast<double>(a->as_uint64());
        if (a->is_string()) amount = std::strtod(a->as_string().c_str(), nullptr);
      }
    }
    if (!(std::fabs(amount * 100.0 - static_cast<double>(it->second)) < 0.5)) {
      ++check.wrong_amount;
      if (check.example.empty()) {
        check.example = "amount of " + key.first + " / " + key.second + " is " + std::to_string(amount);
      }
    }
  }
  check.found = seen.size();
  check.missing = want.size() - seen.size();
  if (check.missing && check.example.empty()) {
    for (const auto& [key, cents] : want) {
      if (!seen.count(key)) {
        check.example = "missing " + key.first + " / " + key.second;
        break;
      }
    }
  }
  return check;
}

// The summary table: one line per invariant, OK or FAILED.
class Summary {
public:
  explicit Summary(std::ostream& out) : out_(out) {
    row("check", "expected", "actual", "result");
  }
  void check(const std::string& name, std::uint64_t expected, std::uint64_t actual, const std::string& note = {}) {
    check_if(name, std::to_string(expected), std::to_string(actual), expected == actual, note);
  }
  void check_if(const std::string& name, const std::string& expected, const std::string& actual, bool ok,
                const std::string& note = {}) {
    row(name, expected, actual, ok ? "OK" : "FAILED", note);
    all_ok_ = all_ok_ && ok;
  }
  void info(const std::string& name, const std::string& value) {
    char line[256];
    std::snprintf(line, sizeof line, "  %-44s %s\n", name.c_str(), value.c_str());
    out_ << line;
  }
  bool all_ok() const { return all_ok_; }

private:
  void row(const std::string& a, const std::string& b, const std::string& c, const std::string& d,
           const std::string& note = {}) {
    char line[512];
    std::snprintf(line, sizeof line, "  %-44s %9s %9s  %s", a.c_str(), b.c_str(), c.c_str(), d.c_str());
    out_ << line;
    if (!note.empty()) out_ << "  (" << note << ")";
    out_ << '\n';
  }
  std::ostream& out_;
  bool all_ok_ = true;
};

std::string n(std::uint64_t v) { return std::to_string(v); }

}  // namespace

int run_demo(const DemoOptions& options, std::ostream& out, std::ostream& err) {
  // Options.
  std::vector<std::string> problems;
  if (options.invoices < 1 || options.invoices > 10'000'000) problems.push_back("--invoices must be 1..10000000");
  if (!(options.duplicate_percent >= 0 && options.duplicate_percent <= 100)) {
    problems.push_back("--duplicates must be 0..100 (percent)");
  }
  if (options.timeout.count() < 1) problems.push_back("--timeout must be at least 1 second");
  log::Level level = log::Level::warn;
  if (!options.log_level.empty() && !log::parse_level(options.log_level, level)) {
    problems.push_back("--log-level must be trace|debug|info|warn|error|critical|off");
  }
  if (!problems.empty()) {
    for (const auto& p : problems) err << "invoice-bridge demo: " << p << '\n';
    return 2;
  }
  log::setup(log::Format::text, level);
  const StopSignals stop_signals;

  const auto started = Clock::now();
  StreamSettings settings;
  settings.invoices = options.invoices;
  settings.duplicate_percent = options.duplicate_percent;
  settings.seed = options.seed;
  const InvoiceStream stream = make_stream(settings);

  std::unique_ptr<StateDir> state;
  std::unique_ptr<kafka::MockCluster> cluster;
  std::unique_ptr<sim::Simulator> simulator;
  try {
    state = std::make_unique<StateDir>(options.state_dir);
    cluster = std::make_unique<kafka::MockCluster>(1);
    // Created here, and topics.create = false below: librdkafka 2.0.2's mock cluster has no
    // CreateTopics API, so kafka::ensure_topics times out against it ("Failed while waiting
    // for controller"), even for topics that exist.
    for (const char* topic : {kInput, kRetry, kReview}) cluster->create_topic(topic, kPartitions);
    sim::SimOptions so;
    so.seed = options.seed;
    // A little service time per request and operation, as a real D365 has.
    so.faults.request_latency_ms = 5;
    so.faults.operation_latency_ms = 0.2;
    if (options.faults) {
      so.faults.request_error_probability = 0.03;
      so.faults.error_statuses = {503};
      so.faults.operation_error_probability = 0.005;
      so.faults.applied_then_failed_probability = 0.02;
      so.faults.operation_applied_then_failed_probability = 0.003;
    }
    simulator = std::make_unique<sim::Simulator>(so);
  } catch (const std::exception& e) {
    err << "invoice-bridge demo: cannot start the embedded parts: " << e.what() << '\n';
    return 2;
  }
  // Destroyed in reverse: the daemon (below) before the simulator and the cluster.

  out << "invoice-bridge demo: " << stream.expected.size() << " invoices from " << stream.vendors
      << " vendors, + " << stream.duplicates << " upstream duplicates, " << stream.conflicts
      << " conflicting corrections, " << stream.poison_pills << " poison pills = " << stream.total()
      << " messages (seed " << options.seed << ")\n";
  out << "  kafka:   librdkafka mock cluster at " << cluster->bootstrap_servers() << " (topics " << kInput << ", "
      << kRetry << ", " << kReview << ")\n";
  out << "  d365:    simulator at " << simulator->service_url();
  if (options.faults) {
    out << "\n           faults: 503 on 3% of requests and 0.5% of operations, applied-then-failed on 2% of\n"
           "           requests and 0.3% of operations, one throttling period (429 + Retry-After)";
  }
  out << '\n';
  out << "  store:   " << state->path().string() << (state->temporary() ? " (temporary)" : " (kept)") << '\n'
      << std::flush;

  std::unique_ptr<Feeder> feeder;
  try {
    feeder = std::make_unique<Feeder>(cluster->bootstrap_servers());
  } catch (const std::exception& e) {
    err << "invoice-bridge demo: cannot start the producer: " << e.what() << '\n';
    return 2;
  }
  std::size_t next_main = feeder->feed(stream.main, 0, 0, kWindow);

  app::DaemonConfig c;
  c.log.level = level;
  c.log.format = log::Format::text;
  c.consumer.bootstrap_servers = c.producer.bootstrap_servers = cluster->bootstrap_servers();
  c.consumer.group_id = kGroup;
  c.consumer.topics = {kInput, kRetry};
  c.consumer.session_timeout = 10s;
  c.topics.input = kInput;
  c.topics.retry = kRetry;
  c.topics.review = kReview;
  c.topics.create = false;
  c.topics.partitions = kPartitions;
  c.loop.retry_topic = kRetry;
  c.loop.drain_timeout = 10s;
  c.dedup.path = state->path();
  // One member, and librdkafka 2.0.2's mock cluster answers no DescribeConfigs (the
  // changelog check at start): the demo runs without the dedup changelog.
  c.dedup.changelog = false;
  c.metrics.address = "127.0.0.1";
  c.metrics.port = options.metrics_port;
  c.pipeline.batch.linger = 10ms;
  // Short retry delays keep the demo short; the schedule's shape is the production one.
  c.pipeline.backoff.initial = 300ms;
  c.pipeline.backoff.max_delay = 2s;
  // The injected faults fail ~6% of sends; with the default 4 attempts an invoice is
  // exhausted with probability ~1e-5, a few of them at 200,000 invoices. 8 attempts make
  // that ~1e-10: every exhausted invoice in the summary is then a real problem.
  c.pipeline.backoff.max_attempts = 8;
  c.d365.base_url = simulator->base_url();
  c.d365.request_deadline = 20s;
  if (auto bad = c.validate(); !bad.empty()) {
    for (const auto& p : bad) err << "invoice-bridge demo: " << p << '\n';
    return 2;
  }

  app::Daemon daemon(c, app::make_d365_factory(c));
  std::atomic<bool> daemon_ended{false};
  int daemon_rc = -1;
  // Joined on every way out; a stop asked for before the daemon's loop runs is queued on
  // its io_context, so the join cannot wait for ever.
  struct Runner {
    app::Daemon& daemon;
    std::thread thread;
    void stop() {
      if (!thread.joinable()) return;
      daemon.request_stop();
      thread.join();
    }
    ~Runner() { stop(); }
  } runner{daemon, std::thread([&] {
             daemon_rc = daemon.run(false);
             daemon_ended = true;
           })};
  auto stop_daemon = [&] { runner.stop(); };

  std::string metrics_url;
  while (metrics_url.empty() && !daemon_ended && !stop_signals.received() &&
         Clock::now() < started + options.timeout) {
    std::this_thread::sleep_for(20ms);
    metrics_url = daemon.metrics_url();
  }
  if (metrics_url.empty() && stop_signals.received()) {
    stop_daemon();
    err << "invoice-bridge demo: interrupted before the daemon ran; nothing to summarise\n";
    return 128 + stop_signals.received();
  }
  if (metrics_url.empty()) {
    stop_daemon();
    err << "invoice-bridge demo: the daemon did not start (exit " << daemon_rc << "; see the log above)\n";
    return 2;
  }
  out << "  metrics: " << metrics_url << "/metrics\n" << std::flush;

  ProgressPrinter progress(err, options.progress, options.lines_interval);
  const auto deadline = started + options.timeout;
  bool late_sent = false;
  bool complete = false;
  bool throttle_started = false, throttle_ended = false;
  Clock::time_point throttle_until{};
  Counts counts;
  std::string failure;
  while (Clock::now() < deadline) {
    if (daemon_ended) {
      failure = "the daemon stopped on its own (exit " + std::to_string(daemon_rc) + ")";
      break;
    }
    if (const int sig = stop_signals.received()) {
      failure = std::string("interrupted by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM");
      progress.note("  ... " + failure + ": stopping the daemon in order; the summary so far follows");
      break;
    }
    const Counts now = Counts::from(scrape(metrics_url));
    if (now.valid) counts = now;
    const auto done = counts.final_outcomes();
    next_main = feeder->feed(stream.main, next_main, done, kWindow);
    if (const auto error = feeder->error(); !error.empty()) {
      failure = "cannot produce the invoices: " + error;
      break;
    }
    // One throttling period in the middle of the run: every request beyond 2 in 2 s is
    // answered 429 with Retry-After, for 3 s.
    if (options.faults && !throttle_started && done * 10 >= stream.main.size() * 4) {
      sim::LimitOptions limits;
      limits.enabled = true;
      limits.window_seconds = 2;
      limits.max_requests = 2;
      simulator->set_limits(limits);
      throttle_started = true;
      throttle_until = Clock::now() + 3s;
      progress.note("  ... D365 starts throttling (429 with Retry-After) for 3 s");
    }
    if (throttle_started && !throttle_ended && Clock::now() >= throttle_until) {
      simulator->set_limits(sim::LimitOptions{});
      throttle_ended = true;
      progress.note("  ... D365 stops throttling");
    }
    if (!late_sent && next_main == stream.main.size() && done >= stream.main.size()) {
      feeder->feed(stream.late, 0, 0, stream.late.size());
      if (const auto error = feeder->flush(); !error.empty()) {
        failure = "cannot produce the corrections: " + error;
        break;
      }
      late_sent = true;
      progress.note("  ... every message has its outcome; " + std::to_string(stream.late.size()) +
                    " corrected invoices (same key, another amount) arrive");
    }
    if (late_sent && done >= stream.total()) {
      complete = true;
      break;
    }
    progress.update(counts, stream.total(), stream.expected.size(), Clock::now() - started);
    std::this_thread::sleep_for(100ms);
  }
  if (throttle_started && !throttle_ended) simulator->set_limits(sim::LimitOptions{});
  if (const Counts last = Counts::from(scrape(metrics_url)); last.valid) counts = last;
  progress.update(counts, stream.total(), stream.expected.size(), Clock::now() - started, true);
  progress.finish();
  const auto elapsed = Clock::now() - started;
  if (!complete && failure.empty()) {
    failure = "deadline of " + std::to_string(options.timeout.count()) + " s passed";
  }

  stop_daemon();
  const KafkaFacts kafka_facts = read_kafka(cluster->bootstrap_servers());
  const sim::SimStats stats = simulator->stats();
  const RecordCheck records = check_records(simulator->records(), stream.expected);

  out << "\nsummary (" << seconds_text(elapsed) << ")\n";
  Summary s(out);
  const std::uint64_t unique = stream.expected.size();
  s.check("every message has an outcome", stream.total(), counts.final_outcomes(), failure);
  s.check_if("daemon stopped in order", "exit 0", "exit " + std::to_string(daemon_rc), daemon_rc == 0);
  s.check_if("input offsets committed to the end", n(kafka_facts.input_end), n(kafka_facts.input_committed),
             kafka_facts.error.empty() && kafka_facts.input_end == kafka_facts.input_committed &&
                 kafka_facts.input_end == stream.total(),
             kafka_facts.error);
  s.check_if("retry offsets committed to the end", n(kafka_facts.retry_end), n(kafka_facts.retry_committed),
             kafka_facts.error.empty() && kafka_facts.retry_end == kafka_facts.retry_committed);
  s.check("retried = messages on the retry topic", kafka_facts.retry_end, counts.retried);
  s.check("unique valid invoices created in D365", unique, stats.creates);
  const auto once = stats.creates_per_key_histogram.count(1) ? stats.creates_per_key_histogram.at(1) : 0;
  s.check_if("each created exactly once", n(unique), n(once),
             once == unique && stats.creates_per_key_histogram.size() == (unique ? 1u : 0u) &&
                 stats.keys_created_more_than_once.empty(),
             stats.keys_created_more_than_once.empty() ? "" : "created twice: " + stats.keys_created_more_than_once.front());
  s.check_if("none missing, first version's amount kept", n(unique), n(records.found - records.wrong_amount),
             records.missing == 0 && records.wrong_amount == 0 && records.unexpected == 0 && records.found == unique,
             records.example);
  s.check("imported (recovered included)", unique, counts.imported + counts.recovered);
  s.check("upstream duplicates skipped", stream.duplicates, counts.duplicate);
  const auto reason = [&](const char* r) {
    const auto it = kafka_facts.review_reasons.find(r);
    return it == kafka_facts.review_reasons.end() ? std::uint64_t{0} : it->second;
  };
  s.check("conflicts in review", stream.conflicts, reason("conflict"));
  s.check("poison pills in review", stream.poison_pills, reason("invalid"));
  s.check("nothing else in review (rejected, exhausted)", 0,
          kafka_facts.review_messages - reason("conflict") - reason("invalid"));
  out << '\n';
  s.info("retried (transient failures)", n(counts.retried) + " (recovered after applied-then-failed: " +
                                             n(counts.recovered) + ")");
  s.info("throttled", n(stats.throttled) + " answers 429, " + n(counts.throttle_events) + " batches throttled");
  s.info("D365 requests", n(stats.requests) + " ($batch " + n(stats.batches) + "), injected 503s " + n(stats.injected_errors) +
                              ", applied then failed " + n(stats.applied_then_failed) + ", duplicate answers " +
                              n(stats.duplicate_rejections));
  const double secs = std::chrono::duration<double>(elapsed).count();
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.0f messages/s", secs > 0 ? static_cast<double>(counts.final_outcomes()) / secs : 0.0);
  s.info("throughput", rate);
  if (const int sig = stop_signals.received()) {
    // The summary so far: the run did not finish, so its completion line says FAILED.
    // The daemon has stopped and closed the store: remove a temporary one before saying so.
    const bool temporary = state->temporary();
    state.reset();
    out << "\nresult: interrupted by " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << " (the summary so far)"
        << (temporary ? "; temporary store removed" : "") << '\n' << std::flush;
    return 128 + sig;
  }
  out << (s.all_ok() ? "\nresult: every invariant holds\n" : "\nresult: FAILED (see the lines above)\n") << std::flush;
  return s.all_ok() ? 0 : 1;
}

}  // namespace ib::demo
