// Integration: the `invoice-bridge run` process under a systemd-like supervisor. The test
// owns the notify socket (a unix datagram socket, as systemd's) and passes NOTIFY_SOCKET and
// WATCHDOG_USEC; the daemon runs against the real Kafka broker and the simulator. Checks the
// sd_notify protocol of docs/deploy.md: READY=1 only once the consumer group has this member
// with its assignment (asked of the broker when READY=1 arrives), STATUS= progress lines,
// WATCHDOG=1 pings from the event loop at half WATCHDOG_USEC, STOPPING=1 on SIGTERM.
#include "daemon_harness.hpp"
#include "daemon_process.hpp"
#include "sim/simulator.hpp"
#include "testing/free_port.hpp"
#include "testing/kafka_env.hpp"
#include "testing/temp_dir.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <librdkafka/rdkafka.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace ib;
using namespace ib::testing::daemon;

namespace {

// The supervisor's end: every datagram the daemon sends, one entry per line of it.
class NotifySocket {
public:
  explicit NotifySocket(const std::filesystem::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.string().size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long");
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("bind");
    timeval tv{0, 100000};  // the reader checks for the end every 100 ms
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    reader_ = std::thread([this] { read_loop(); });
  }
  ~NotifySocket() {
    stop_ = true;
    reader_.join();
    ::close(fd_);
  }

  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  std::size_t count(const std::string& line) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count(lines_.begin(), lines_.end(), line));
  }
  bool has_prefix(const std::string& prefix) const {
    std::lock_guard lock(mutex_);
    return std::any_of(lines_.begin(), lines_.end(), [&](const auto& l) { return l.rfind(prefix, 0) == 0; });
  }

  // Called (on the reader thread) when READY=1 arrives, before the next datagram is read.
  std::function<void()> on_ready;

private:
  void read_loop() {
    char buf[4096];
    while (!stop_) {
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      std::istringstream in(std::string(buf, static_cast<std::size_t>(n)));
      for (std::string line; std::getline(in, line);) {
        {
          std::lock_guard lock(mutex_);
          lines_.push_back(line);
        }
        if (line == "READY=1" && on_ready) on_ready();
      }
    }
  }

  std::filesystem::path path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread reader_;
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

// The group as the broker sees it (Admin API DescribeConsumerGroups): its state and, per
// member, how many partitions it was assigned.
struct GroupView {
  std::string state;
  std::vector<std::size_t> member_partitions;
  std::string error;
};

GroupView describe_group(const std::string& bootstrap, const std::string& group) {
  GroupView view;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> rk(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err), &rd_kafka_destroy);
  if (!rk) {
    view.error = err;
    return view;
  }
  std::unique_ptr<rd_kafka_queue_t, decltype(&rd_kafka_queue_destroy)> queue(rd_kafka_queue_new(rk.get()),
                                                                            &rd_kafka_queue_destroy);
  const char* groups[] = {group.c_str()};
  rd_kafka_DescribeConsumerGroups(rk.get(), groups, 1, nullptr, queue.get());
  std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> event(
      rd_kafka_queue_poll(queue.get(), 20000), &rd_kafka_event_destroy);
  if (!event || rd_kafka_event_error(event.get())) {
    view.error = event ? rd_kafka_event_error_string(event.get()) : "no answer";
    return view;
  }
  const auto* result = rd_kafka_event_DescribeConsumerGroups_result(event.get());
  std::size_t n = 0;
  const auto* const* descs = rd_kafka_DescribeConsumerGroups_result_groups(result, &n);
  if (n != 1) {
    view.error = "no group in the answer";
    return view;
  }
  if (const auto* e = rd_kafka_ConsumerGroupDescription_error(descs[0])) {
    view.error = rd_kafka_error_string(e);
    return view;
  }
  view.state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(descs[0]));
  for (std::size_t i = 0; i < rd_kafka_ConsumerGroupDescription_member_count(descs[0]); ++i) {
    const auto* member = rd_kafka_ConsumerGroupDescription_member(descs[0], i);
    const auto* assignment = rd_kafka_MemberDescription_assignment(member);
    const auto* parts = rd_kafka_MemberAssignment_partitions(assignment);
    view.member_partitions.push_back(parts ? static_cast<std::size_t>(parts->cnt) : 0);
  }
  return view;
}

std::string invoice_json(int i) {
  return R"({"vendor_account":"V)" + std::to_string(i % 5) + R"(","invoice_number":"N-)" + std::to_string(i) +
         R"(","company":"ACME","invoice_date":"2026-11-01","currency":"EUR","amount":)" +
         std::to_string(10 + i % 90) + ".50}";
}

}  // namespace

TEST_CASE("under systemd: READY=1 after the group join, STATUS progress, WATCHDOG=1 pings, STOPPING=1",
          "[app][daemon][process][systemd][integration]") {
  const auto bootstrap = ib::testing::real_kafka_bootstrap();
  const auto name = ib::testing::unique_topic("proc-notify");
  ib::testing::TempDir dir;
  sim::Simulator sim(sim::SimOptions{});

  constexpr int kUnique = 300;
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < kUnique; ++i) records.emplace_back("k" + std::to_string(i), invoice_json(i));
  for (int i = 0; i < kUnique; i += 10) records.emplace_back("k" + std::to_string(i), invoice_json(i));
  produce_all(bootstrap, name, records);
  const auto config = write_config(dir.path(), bootstrap, name, sim.base_url(), "5s");

  NotifySocket notify(dir.path() / "notify.sock");
  GroupView at_ready;
  std::atomic<bool> described{false};
  notify.on_ready = [&] {
    at_ready = describe_group(bootstrap, name + "-group");
    described = true;
  };
  // 400 ms: the daemon pings every 200 ms.
  ::setenv("NOTIFY_SOCKET", (dir.path() / "notify.sock").c_str(), 1);
  ::setenv("WATCHDOG_USEC", "400000", 1);
  DaemonProcess daemon(config, dir.path() / "daemon.log");
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");

  REQUIRE(wait_for([&] { return described.load(); }, 90s));
  INFO(daemon.log_text());
  // When READY=1 arrives the broker already has this member in a stable group, with the
  // 4 input + 4 retry partitions assigned to it.
  CHECK(at_ready.error.empty());
  CHECK(at_ready.state == "Stable");
  REQUIRE(at_ready.member_partitions.size() == 1);
  CHECK(at_ready.member_partitions[0] == 8);
  {
    const auto lines = notify.lines();
    const auto ready = std::find(lines.begin(), lines.end(), "READY=1");
    const auto joining = std::find(lines.begin(), lines.end(), "STATUS=joining consumer group " + name + "-group");
    CHECK(joining < ready);  // said while joining, before READY
  }

  // Every invoice imported, the duplicates counted; a STATUS line reports it.
  REQUIRE(wait_for([&] { return sim.stats().records == kUnique; }, 90s));
  const std::string final_status = "STATUS=consuming 8 partitions; imported " + std::to_string(kUnique) +
                                   ", duplicates " + std::to_string(kUnique / 10) + ", retried 0, to review 0";
  CHECK(wait_for([&] { return notify.count(final_status) > 0; }, 30s));

  // Pings all along, also after READY=1 (the run so far took seconds: one every 200 ms).
  {
    const auto lines = notify.lines();
    const auto ready = std::find(lines.begin(), lines.end(), "READY=1");
    CHECK(std::count(ready, lines.end(), "WATCHDOG=1") >= 10);
  }

  daemon.signal(SIGTERM);
  CHECK(daemon.wait(30s) == 0);
  CHECK(notify.count("STOPPING=1") == 1);
  CHECK(notify.has_prefix("STATUS=stopping"));
  CHECK(notify.count("READY=1") == 1);
}

TEST_CASE("under systemd: Kafka unreachable at start is exit 3 (restarted), never READY=1",
          "[app][daemon][process][systemd][integration]") {
  ib::testing::TempDir dir;
  sim::Simulator sim(sim::SimOptions{});
  // A loopback port nobody listens on: the retry and review topics cannot be made.
  const std::string closed = "127.0.0.1:" + std::to_string(ib::testing::free_port());
  const auto config = write_config(dir.path(), closed, "proc-nokafka", sim.base_url(), "5s");
  NotifySocket notify(dir.path() / "notify.sock");
  ::setenv("NOTIFY_SOCKET", (dir.path() / "notify.sock").c_str(), 1);
  ::setenv("WATCHDOG_USEC", "400000", 1);
  DaemonProcess daemon(config, dir.path() / "daemon.log");
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");

  // ensure_topics gives up after 30 s.
  const auto rc = daemon.wait(90s);
  INFO(daemon.log_text());
  REQUIRE(rc.has_value());
  // 3, not 2: the unit's RestartPreventExitStatus=2 must not keep it down (docs/deploy.md).
  CHECK(*rc == 3);
  CHECK(daemon.log_text().find("cannot create the retry and review topics") != std::string::npos);
  CHECK(wait_for([&] { return notify.count("STATUS=creating the retry and review topics") == 1; }, 10s));
  CHECK(notify.count("READY=1") == 0);

  // log.format json: every stderr line of the process is one JSON object, librdkafka's
  // "Connection refused" lines included.
  std::istringstream log(daemon.log_text());
  int librdkafka_lines = 0;
  for (std::string line; std::getline(log, line);) {
    INFO(line);
    boost::system::error_code ec;
    const auto value = boost::json::parse(line, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(value.is_object());
    if (const auto* source = value.as_object().if_contains("source"); source && *source == "librdkafka") {
      ++librdkafka_lines;
    }
  }
  CHECK(librdkafka_lines > 0);
}
