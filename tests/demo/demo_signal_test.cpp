// Integration: `invoice-bridge demo` as a process, stopped with SIGTERM or SIGINT while the
// daemon is importing: it stops the daemon in order, prints the summary so far (the run's
// completion line FAILED with the reason), exits 128 + signal, and removes its temporary
// store.
#include "testing/temp_dir.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

extern char** environ;

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// GET http://127.0.0.1:PORT/metrics with a 2 s receive timeout; empty on failure.
std::string get_metrics(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[8192];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

double imported(const std::string& metrics) {
  std::smatch m;
  static const std::regex re(R"(ib_invoices_total\{outcome="imported"\} ([0-9.e+]+))");
  return std::regex_search(metrics, m, re) ? std::stod(m[1]) : 0.0;
}

std::optional<int> wait_exit(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("demo: SIGTERM/SIGINT mid-run prints the summary so far and removes the temporary store",
          "[demo][process][integration]") {
  const int sig = GENERATE(SIGTERM, SIGINT);
  const char* sig_name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
  INFO(sig_name);
  ib::testing::TempDir dir;
  const auto out_path = dir.path() / "stdout.txt";
  const auto err_path = dir.path() / "stderr.txt";
  const char* bin = std::getenv("IB_INVOICE_BRIDGE");
  REQUIRE(bin != nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // Enough invoices that the run is far from done when the signal comes.
  const char* argv[] = {bin, "demo", "--invoices", "40000", "--no-progress", "--timeout", "600", nullptr};
  pid_t pid = -1;
  REQUIRE(posix_spawn(&pid, bin, &actions, nullptr, const_cast<char**>(argv), environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  struct Reaper {
    pid_t& pid;
    ~Reaper() {
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  } reaper{pid};

  // The header names the temporary store and the metrics endpoint.
  std::smatch m;
  std::string header;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  static const std::regex re(R"(store:\s+(\S+) \(temporary\)[\s\S]*metrics: http://127\.0\.0\.1:([0-9]+)/metrics)");
  while (!std::regex_search(header = read_all(out_path), m, re) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  INFO(header << read_all(err_path));
  REQUIRE(m.size() == 3);
  const fs::path store = m[1].str();
  const int port = std::stoi(m[2].str());
  CHECK(fs::exists(store));

  // Signal once the daemon is importing.
  const auto importing_by = std::chrono::steady_clock::now() + 60s;
  while (imported(get_metrics(port)) < 1 && std::chrono::steady_clock::now() < importing_by) {
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE(imported(get_metrics(port)) >= 1);
  REQUIRE(::kill(pid, sig) == 0);
  const auto rc = wait_exit(pid, 60s);
  REQUIRE(rc.has_value());
  pid = -1;

  const auto out = read_all(out_path);
  INFO(out << read_all(err_path));
  CHECK(*rc == 128 + sig);
  CHECK(out.find("\nsummary (") != std::string::npos);
  // The completion line fails with the reason; the daemon itself stopped in order.
  CHECK(std::regex_search(out, std::regex(R"(every message has an outcome\s+\d+\s+\d+\s+FAILED\s+\(interrupted by )" +
                                          std::string(sig_name) + R"(\))")));
  CHECK(std::regex_search(out, std::regex(R"(daemon stopped in order\s+exit 0\s+exit 0\s+OK)")));
  // The summary so far counts what was imported before the signal.
  std::smatch im;
  REQUIRE(std::regex_search(out, im, std::regex(R"(imported \(recovered included\)\s+\d+\s+(\d+))")));
  CHECK(std::stoul(im[1]) >= 1);
  CHECK(out.find(std::string("result: interrupted by ") + sig_name + " (the summary so far); temporary store removed") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(store));
}
