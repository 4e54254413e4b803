// d365-sim as a process: first stdout line, serves requests, exits 0 on SIGTERM.
#include "raw_client.hpp"
#include "testing/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

using namespace ib::sim::testing;

namespace {

struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;
};

Child spawn(const std::vector<std::string>& args) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  Child c;
  c.pid = fork();
  REQUIRE(c.pid >= 0);
  if (c.pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  c.out = fdopen(fds[0], "r");
  return c;
}

int wait_exit(pid_t pid) {
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST_CASE("sim_exe: prints its listening line first, serves, saves records, exits 0 on SIGTERM") {
  ib::testing::TempDir dir("sim-exe");
  const auto config = (dir.path() / "sim.json").string();
  std::ofstream(config) << R"({"duplicate_status":409,"limits":{"enabled":false}})";
  const auto saved = (dir.path() / "records.json").string();
  auto child = spawn({D365_SIM_PATH, "--listen", "127.0.0.1:0", "--config", config, "--seed", "3",
                      "--save-records", saved, "--log-level", "warn"});
  char line[256] = {};
  REQUIRE(std::fgets(line, sizeof line, child.out) != nullptr);
  const std::string first(line);
  REQUIRE(first.rfind("listening on http://127.0.0.1:", 0) == 0);
  const int port = std::stoi(first.substr(std::string("listening on http://127.0.0.1:").size()));
  {
    RawClient c(static_cast<std::uint16_t>(port));
    CHECK(c.request("POST", "/api/data/v9.2/VendorInvoices", invoice("X", "1")).status == 204);
    CHECK(c.request("POST", "/api/data/v9.2/VendorInvoices", invoice("X", "1")).status == 409);
  }
  REQUIRE(kill(child.pid, SIGTERM) == 0);
  CHECK(wait_exit(child.pid) == 0);
  std::fclose(child.out);
  std::ifstream in(saved);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(content.find("\"InvoiceNumber\":\"1\"") != std::string::npos);

  // The saved file loads back with --records.
  auto again = spawn({D365_SIM_PATH, "--listen", "127.0.0.1:0", "--records", saved});
  REQUIRE(std::fgets(line, sizeof line, again.out) != nullptr);
  const std::string l2(line);
  const int port2 = std::stoi(l2.substr(std::string("listening on http://127.0.0.1:").size()));
  {
    RawClient c(static_cast<std::uint16_t>(port2));
    CHECK(c.request("POST", "/api/data/v9.2/VendorInvoices", invoice("X", "1")).status == 412);
  }
  REQUIRE(kill(again.pid, SIGINT) == 0);
  CHECK(wait_exit(again.pid) == 0);
  std::fclose(again.out);
}

TEST_CASE("sim_exe: --help documents the options; a bad config exits non-zero") {
  auto help = spawn({D365_SIM_PATH, "--help"});
  std::string text;
  char buf[512];
  while (std::fgets(buf, sizeof buf, help.out)) text += buf;
  std::fclose(help.out);
  CHECK(wait_exit(help.pid) == 0);
  for (const char* opt : {"--listen", "--config", "--seed", "--tls-cert", "--tls-key", "--log-level", "--records",
                          "--save-records", "--profile"})
    CHECK(text.find(opt) != std::string::npos);

  ib::testing::TempDir dir("sim-exe");
  const auto config = (dir.path() / "bad.json").string();
  std::ofstream(config) << R"({"duplicate_status":500,"nope":1})";
  auto bad = spawn({D365_SIM_PATH, "--config", config});
  while (std::fgets(buf, sizeof buf, bad.out)) {
  }
  std::fclose(bad.out);
  CHECK(wait_exit(bad.pid) == 1);
}

TEST_CASE("sim_exe: --profile finance_operations serves /data; a bad or contradicted profile exits 1") {
  ib::testing::TempDir dir("sim-exe");
  const auto config = (dir.path() / "fno.json").string();
  std::ofstream(config) << R"({"duplicate_status":409})";
  auto child = spawn({D365_SIM_PATH, "--listen", "127.0.0.1:0", "--profile", "finance_operations", "--config", config,
                      "--log-level", "warn"});
  char line[256] = {};
  REQUIRE(std::fgets(line, sizeof line, child.out) != nullptr);
  const int port = std::stoi(std::string(line).substr(std::string("listening on http://127.0.0.1:").size()));
  {
    RawClient c(static_cast<std::uint16_t>(port));
    const std::string header = R"({"HeaderReference":"IB1","InvoiceNumber":"1","VendorAccount":"V"})";
    CHECK(c.request("POST", "/data/VendorInvoiceHeaders", header).status == 204);
    auto dup = c.request("POST", "/data/VendorInvoiceHeaders", header);
    CHECK(dup.status == 409);  // the config's key on the profile's base
    CHECK(dup.body.find("The record already exists.") != std::string::npos);
  }
  REQUIRE(kill(child.pid, SIGTERM) == 0);
  CHECK(wait_exit(child.pid) == 0);
  std::fclose(child.out);

  const auto dataverse = (dir.path() / "dv.json").string();
  std::ofstream(dataverse) << R"({"profile":"dataverse"})";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {D365_SIM_PATH, "--profile", "fno"},
           {D365_SIM_PATH, "--profile", "finance_operations", "--config", dataverse}}) {
    auto bad = spawn(args);
    char buf[256];
    while (std::fgets(buf, sizeof buf, bad.out)) {
    }
    std::fclose(bad.out);
    CHECK(wait_exit(bad.pid) == 1);
  }
}
