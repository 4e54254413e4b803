// A real Prometheus server (Debian's `prometheus` binary, $IB_PROMETHEUS) as a child
// process for tests: temp config and storage, a loopback port chosen by the OS, and
// the HTTP API (instant queries, rules, alerts) parsed with Boost.JSON.
#pragma once

#include "../app/daemon_harness.hpp"  // http_get

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ib::testing::ops {

namespace json = boost::json;
using namespace std::chrono_literals;

inline std::string prometheus_binary() {
  const char* path = std::getenv("IB_PROMETHEUS");
  return path != nullptr ? path : "prometheus";
}

inline std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// One sample of an instant-query answer: its labels and value.
struct Sample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

/// `prometheus --config.file=dir/prometheus.yml --storage.tsdb.path=dir/data` on
/// 127.0.0.1:0; stderr to dir/prometheus.log. Stopped (TERM, then KILL) by the destructor,
/// and killed by the kernel if the test process dies first.
class PrometheusServer {
public:
  PrometheusServer(const std::filesystem::path& dir, const std::string& config_yaml) : dir_(dir) {
    std::ofstream(dir / "prometheus.yml") << config_yaml;
    const std::string bin = prometheus_binary();
    std::vector<std::string> args = {bin,
                                     "--config.file=" + (dir / "prometheus.yml").string(),
                                     "--storage.tsdb.path=" + (dir / "data").string(),
                                     "--web.listen-address=127.0.0.1:0",
                                     "--web.enable-lifecycle"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log = log_path().string();
    const pid_t parent = ::getpid();
    // fork + exec rather than posix_spawn: the child asks to be killed when the test
    // process dies, so a crashed test leaves no server behind. Only async-signal-safe
    // calls between fork and exec (everything is prepared above).
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error(std::string("cannot fork: ") + std::strerror(errno));
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      const int out = ::open("/dev/null", O_WRONLY);
      const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (out < 0 || err < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(127);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~PrometheusServer() { stop(); }
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  std::filesystem::path log_path() const { return dir_ / "prometheus.log"; }

  /// Waits (bounded) for the log's `msg="Listening on" address=127.0.0.1:PORT` line and
  /// the server to answer /-/ready; false if it did not come up.
  bool wait_ready(std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    static const std::regex listening(R"(msg="Listening on" address=([0-9.]+:[0-9]+))");
    while (std::chrono::steady_clock::now() < deadline) {
      if (base_.empty()) {
        std::smatch m;
        const auto log = read_file(log_path());
        if (std::regex_search(log, m, listening)) base_ = "http://" + m[1].str();
      }
      if (!base_.empty() && daemon::http_get(base_ + "/-/ready").find("Ready") != std::string::npos) {
        return true;
      }
      if (exited()) return false;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  const std::string& base_url() const { return base_; }

  /// GET base_url + path_and_query, parsed; throws unless the API answered "success".
  json::value api(const std::string& path_and_query) const {
    const auto body = daemon::http_get(base_ + path_and_query);
    if (body.empty()) throw std::runtime_error("no answer from Prometheus for " + path_and_query);
    auto v = json::parse(body);
    if (v.at("status").as_string() != "success") {
      throw std::runtime_error("Prometheus API error for " + path_and_query + ": " + body);
    }
    return v.at("data");
  }

  /// An instant query (vector or scalar answer) evaluated now.
  std::vector<Sample> query(const std::string& promql) const {
    const auto data = api("/api/v1/query?query=" + url_encode(promql));
    std::vector<Sample> out;
    const auto type = data.at("resultType").as_string();
    if (type == "scalar") {
      out.push_back({{}, std::stod(std::string(data.at("result").as_array().at(1).as_string()))});
      return out;
    }
    if (type != "vector") throw std::runtime_error("unexpected result type " + std::string(type) + " for " + promql);
    for (const auto& r : data.at("result").as_array()) {
      Sample s;
      for (const auto& [k, v] : r.at("metric").as_object()) s.labels[std::string(k)] = std::string(v.as_string());
      s.value = std::stod(std::string(r.at("value").as_array().at(1).as_string()));
      out.push_back(std::move(s));
    }
    return out;
  }

  /// The single value of `promql`, or nullopt when it returns no sample.
  std::optional<double> value(const std::string& promql) const {
    const auto samples = query(promql);
    if (samples.size() != 1) return std::nullopt;
    return samples.front().value;
  }

  bool exited() {
    if (pid_ <= 0) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return false;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!exited()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(20ms);
    }
  }

private:
  std::filesystem::path dir_;
  std::string base_;
  pid_t pid_ = -1;
};

}  // namespace ib::testing::ops
