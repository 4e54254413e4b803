// The `invoice-bridge run` binary as a child process, for process-level tests and the
// end-to-end benchmark: spawn with a YAML config, signal, wait, read its JSON log.
#pragma once

#include <csignal>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

extern char** environ;

namespace ib::testing::daemon {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// The invoice-bridge binary: $IB_INVOICE_BRIDGE (set by ctest, tests/app/CMakeLists.txt).
inline std::string binary() {
  const char* path = std::getenv("IB_INVOICE_BRIDGE");
  if (path == nullptr) throw std::runtime_error("IB_INVOICE_BRIDGE is not set (path of invoice-bridge)");
  return path;
}

// One `invoice-bridge run` child process; stderr (the JSON log) goes to a file.
class DaemonProcess {
public:
  DaemonProcess(const std::filesystem::path& config, std::filesystem::path log) : log_(std::move(log)) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const std::string bin = binary();
    const std::string cfg = config.string();
    char* argv[] = {const_cast<char*>(bin.c_str()), const_cast<char*>("run"), const_cast<char*>("--config"),
                    const_cast<char*>(cfg.c_str()), nullptr};
    const int rc = posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + bin + ": " + std::strerror(rc));
  }
  ~DaemonProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      (void)wait(10s);
    }
  }
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  void signal(int sig) const { ::kill(pid_, sig); }
  pid_t pid() const { return pid_; }

  // The exit status (128 + signal when killed), or nullopt if still running after `limit`.
  std::optional<int> wait(std::chrono::milliseconds limit) {
    const auto deadline = SteadyClock::now() + limit;
    for (;;) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
        return -1;
      }
      if (SteadyClock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(20ms);
    }
  }

  // True once the log says the daemon joined and serves (bounded wait).
  bool wait_running(std::chrono::seconds limit) const {
    const auto deadline = SteadyClock::now() + limit;
    while (SteadyClock::now() < deadline) {
      if (log_text().find("\"invoice-bridge running\"") != std::string::npos) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  std::string log_text() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
};

// A config for `invoice-bridge run` against `bootstrap` and `d365_url`, topics named after
// `name`, the store in dir/dedup; small batches and short retry delays for tests.
// `d365_extra`: more lines of the d365 section, indented by two spaces.
inline std::filesystem::path write_config(const std::filesystem::path& dir, const std::string& bootstrap,
                                   const std::string& name, const std::string& d365_url,
                                   const std::string& drain_timeout, int max_backlog = 5000,
                                   const std::string& d365_extra = "", const std::string& log_level = "info") {
  const auto path = dir / "invoice-bridge.yaml";
  std::ofstream out(path);
  out << "log:\n  level: " << log_level << "\n  format: json\n"
      << "kafka:\n  bootstrap_servers: " << bootstrap << "\n  group_id: " << name << "-group\n"
      << "  topics:\n    input: " << name << "\n    retry: " << name << ".retry\n    review: " << name
      << ".review\n    partitions: 4\n"
      << "  consumer:\n    session_timeout: 10s\n"
      << "dedup:\n  path: " << (dir / "dedup").string() << "\n"
      << "batch:\n  max_items: 50\n  linger: 10ms\n"
      << "retry:\n  max_attempts: 10\n  initial: 200ms\n  max_delay: 1s\n"
      << "pipeline:\n  drain_timeout: " << drain_timeout << "\n  max_backlog: " << max_backlog
      << "\n  resume_backlog: " << max_backlog / 2 << "\n"
      << "metrics:\n  address: 127.0.0.1\n  port: 0\n"
      << "d365:\n  base_url: " << d365_url << "\n  request_deadline: 20s\n" << d365_extra;
  return path;
}

inline bool wait_for(const std::function<bool()>& cond, std::chrono::seconds limit) {
  const auto deadline = SteadyClock::now() + limit;
  while (!cond()) {
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

}  // namespace ib::testing::daemon
