// The batch, send, retry and pipeline sections, read by the pipeline's config structs.
#include "pipeline/consumer_loop.hpp"
#include "pipeline/pipeline.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace std::chrono_literals;
using ib::config::ConfigSource;

namespace {
bool mentions(const std::vector<std::string>& problems, std::string_view what) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const std::string& p) { return p.find(what) != std::string::npos; });
}
}  // namespace

TEST_CASE("batch, send and retry keys reach PipelineConfig", "[pipeline][config][unit]") {
  ConfigSource s("batch: {max_items: 250, linger: 20ms, max_bytes: 2MiB}\nsend: {max_in_flight: 8}\n"
                 "retry: {max_attempts: 6, initial: 500ms}\n",
                 "ib.yaml", {{"IB_BATCH__MAX_ITEMS", "300"}});
  ib::pipeline::PipelineConfig c;
  c.load(s);
  CHECK(s.problems().empty());
  CHECK(s.unknown_keys().empty());
  CHECK(c.batch.max_items == 300);
  CHECK(c.batch.max_bytes == 2u << 20);
  CHECK(c.batch.linger == 20ms);
  CHECK(c.aimd.max_in_flight == 8);
  CHECK(c.max_retries() == 5);
  CHECK(c.backoff.initial == 500ms);
  CHECK(c.validate().empty());

  ib::pipeline::PipelineConfig d;
  ConfigSource defaults("", "ib.yaml");
  d.load(defaults);
  CHECK(d.batch.max_items == 100);
  CHECK(d.batch.linger == 50ms);
  CHECK(d.aimd.max_in_flight == 4);
  CHECK(d.max_retries() == 3);
  CHECK(d.backoff.initial == 1s);
}

TEST_CASE("pacing keys reach PipelineConfig and are validated", "[pipeline][config][unit]") {
  ConfigSource s("send: {members_sharing_user: 3, honour_dop_hint: false, low_requests_remaining: 50,\n"
                 "       low_time_remaining: 12.5, pacing_signal_ttl: 10s}\n",
                 "ib.yaml");
  ib::pipeline::PipelineConfig c;
  c.load(s);
  CHECK(s.problems().empty());
  CHECK(s.unknown_keys().empty());
  CHECK(c.pacing.members_sharing_user == 3);
  CHECK_FALSE(c.pacing.honour_dop_hint);
  CHECK(c.pacing.low_requests_remaining == 50);
  CHECK(c.pacing.low_time_remaining_s == 12.5);
  CHECK(c.pacing.signal_ttl == 10s);
  CHECK(c.validate().empty());
  ib::pipeline::PipelineConfig d;
  ConfigSource defaults("", "ib.yaml");
  d.load(defaults);
  CHECK(d.pacing.members_sharing_user == 1);
  CHECK(d.pacing.honour_dop_hint);
  ConfigSource bad("send: {members_sharing_user: 0, low_time_remaining: -1}\n", "ib.yaml");
  ib::pipeline::PipelineConfig b;
  b.load(bad);
  const auto p = b.validate();
  CHECK(mentions(p, "send.members_sharing_user must be at least 1"));
  CHECK(mentions(p, "send.low_time_remaining must not be negative"));
}

TEST_CASE("bad batch and retry values, removed send keys", "[pipeline][config][unit]") {
  ConfigSource s("batch: {max_items: 5000}\nretry: {max_attempts: 0}\n"
                 "send: {max_in_flight: 2, default_retry_after: 10s, max_retry_after: 60s}\n",
                 "ib.yaml");
  ib::pipeline::PipelineConfig c;
  c.load(s);
  CHECK(s.problems() == std::vector<std::string>{
                            "send.default_retry_after: removed; use d365.classify.default_retry_after (ib.yaml)",
                            "send.max_retry_after: removed; use d365.classify.max_retry_after (ib.yaml)"});
  CHECK(s.unknown_keys().empty());
  const auto p = c.validate();
  CHECK(mentions(p, "batch.max_items must not exceed the server's limit"));
  CHECK(mentions(p, "retry.max_attempts"));
}

TEST_CASE("pipeline keys reach ConsumerLoopConfig", "[pipeline][config][unit]") {
  ConfigSource s("pipeline: {max_backlog: 800, resume_backlog: 900, drain_timeout: 5s}\n", "ib.yaml");
  ib::pipeline::ConsumerLoopConfig c;
  c.load(s);
  CHECK(s.problems().empty());
  CHECK(c.max_backlog == 800);
  CHECK(c.resume_backlog == 900);
  CHECK(c.drain_timeout == 5s);
  CHECK(c.validate() == std::vector<std::string>{"pipeline.resume_backlog must be below pipeline.max_backlog"});
}
