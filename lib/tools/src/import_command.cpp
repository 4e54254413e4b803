#include "tools/import_command.hpp"

// g++ 12 reports asio's awaitable frame operator new/delete pair as mismatched when it
// inlines both into a large coroutine (a false positive: both use asio's recycling allocator).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "app/daemon_config.hpp"
#include "config/config_source.hpp"
#include "core/log.hpp"
#include "d365/batch_client.hpp"
#include "d365/d365_transport.hpp"
#include "dedup/memory_dedup_store.hpp"
#include "kafka/headers.hpp"
#include "kafka/producer.hpp"
#include "pipeline/consumer_loop.hpp"
#include "pipeline/pipeline.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <unordered_map>

namespace ib::tools {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::string ImportSummary::to_json() const {
  boost::json::object o;
  o["read"] = read;
  o["invalid"] = invalid;
  o["imported"] = imported;
  o["duplicates"] = duplicates;
  o["conflicts"] = conflicts;
  o["retried"] = retried;
  o["resent"] = resent;
  o["throttled"] = throttled;
  o["failed"] = failed;
  o["requests_sent"] = requests_sent;
  o["unsettled"] = unsettled;
  if (bulk) {
    o["bulk"] = {{"messages", bulk->messages_sent},
                 {"refused", bulk->messages_refused},
                 {"fallback_batches", bulk->fallback_batches},
                 {"skipped", bulk->slices_skipped}};
  }
  if (!stopped.empty()) o["stopped"] = stopped;
  return boost::json::serialize(o);
}

std::string ImportSummary::to_line() const {
  return "read " + std::to_string(read) + ", imported " + std::to_string(imported) + ", duplicates " +
         std::to_string(duplicates) + ", conflicts " + std::to_string(conflicts) + ", invalid " +
         std::to_string(invalid) + ", failed " + std::to_string(failed) + ", retried " +
         std::to_string(retried) + ", requests " + std::to_string(requests_sent) +
         (stopped.empty() ? "" : ", unsettled " + std::to_string(unsettled) + " (stopped: " + stopped + ")");
}

namespace {

constexpr const char* kLineHeader = "ib-import-line";
constexpr const char* kRetryTopic = "import.retry";
constexpr const char* kReviewTopic = "import.review";

std::size_t line_of(const core::Headers& headers) {
  const auto text = core::find_last_header(headers, kLineHeader);
  std::size_t line = 0;
  if (text) std::from_chars(text->data(), text->data() + text->size(), line);
  return line;
}

/// The pipeline's retry and review topics inside this process: a retry record is handed
/// back (to be submitted again when due), a review record becomes a reject. Acknowledged at
/// once, never inside produce() (the Producer contract).
class InProcessTopics final : public kafka::Producer {
public:
  InProcessTopics(asio::any_io_executor ex, std::function<void(kafka::OutgoingMessage)> on_retry,
                  std::function<void(kafka::OutgoingMessage)> on_review)
      : executor_(std::move(ex)), on_retry_(std::move(on_retry)), on_review_(std::move(on_review)) {}

  void produce(kafka::OutgoingMessage message, kafka::DeliveryCallback on_delivery) override {
    kafka::DeliveryReport report;
    report.topic = message.topic;
    report.partition = 0;
    report.offset = next_offset_++;
    if (message.topic == kRetryTopic) {
      on_retry_(std::move(message));
    } else {
      on_review_(std::move(message));
    }
    asio::post(executor_, [cb = std::move(on_delivery), report] { cb(report); });
  }
  bool flush(std::chrono::milliseconds) override { return true; }
  std::int64_t in_flight() const override { return 0; }

private:
  asio::any_io_executor executor_;
  std::function<void(kafka::OutgoingMessage)> on_retry_;
  std::function<void(kafka::OutgoingMessage)> on_review_;
  std::int64_t next_offset_ = 0;
};

/// The sender as `import` sees it: every throttle wait capped at `max_wait` (said for each
/// answered batch whose wait it capped), every call and answer counted for the summary.
class CountingSender final : public d365::Sender {
public:
  CountingSender(d365::Sender& inner, ImportSummary& summary, std::chrono::milliseconds max_wait,
                 ImportNotice notice)
      : inner_(inner), summary_(summary), max_wait_(max_wait), notice_(std::move(notice)) {}

  asio::awaitable<std::vector<d365::Answer>> send(std::vector<odata::EntityWrite> writes) override {
    ++summary_.requests_sent;
    const auto count = writes.size();
    std::vector<d365::Answer> answers;
    try {
      answers = co_await inner_.send(std::move(writes));
    } catch (const std::exception& e) {
      // Nothing is known of this batch: every invoice failed transiently (retried).
      d365::Answer failed;
      failed.outcome = core::AnswerClass::transient;
      failed.error = std::string("send failed: ") + e.what();
      answers.assign(count, failed);
    }
    bool capped = false;
    std::chrono::milliseconds asked{0};
    for (auto& a : answers) {
      if (a.outcome == core::AnswerClass::throttled) {
        ++summary_.throttled;
        if (a.retry_after && *a.retry_after > max_wait_) {
          asked = std::max(asked, *a.retry_after);
          a.retry_after = max_wait_;
          capped = true;
        }
      }
      if (a.outcome == core::AnswerClass::throttled || a.outcome == core::AnswerClass::not_processed) {
        ++summary_.resent;
      }
    }
    if (capped && notice_) {
      notice_("D365 throttles and asks to wait " + std::to_string(asked.count() / 1000) + " s; waiting " +
              std::to_string(max_wait_.count() / 1000) + " s instead (import's wait cap)");
    }
    co_return answers;
  }

private:
  d365::Sender& inner_;
  ImportSummary& summary_;
  std::chrono::milliseconds max_wait_;
  ImportNotice notice_;
};

struct Line {
  std::size_t number = 0;
  std::string text;
  bool settled = false;
  int last_status = 0;
  std::string last_error;
};

}  // namespace

asio::awaitable<ImportSummary> run_import(std::istream& input, const d365::InvoiceCodec& codec, d365::Sender& sender,
                                          ImportSettings settings, ImportRejectSink rejects,
                                          ImportProgress progress) {
  auto executor = co_await asio::this_coro::executor;
  ImportSummary summary;
  auto reject = [&](const Line& line, std::string reason, int status, std::string error) {
    if (rejects) rejects({line.number, std::move(reason), status, std::move(error), line.text});
  };

  // Read and decode everything first: in-file duplicates and conflicts need every line,
  // and are reported with the line they repeat.
  std::unordered_map<std::string, std::pair<std::string, std::size_t>> seen;  // key -> (fingerprint, line)
  std::unordered_map<std::size_t, Line> lines;                                  // sent lines by number
  std::vector<pipeline::InMessage> messages;
  std::string text;
  std::size_t line_no = 0;
  while (std::getline(input, text)) {
    ++line_no;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    ++summary.read;
    auto decoded = codec.decode(text);
    if (!decoded) {
      ++summary.invalid;
      if (rejects) rejects({line_no, "invalid", 0, decoded.error().message, text});
      continue;
    }
    auto& d = *decoded;
    auto [it, inserted] = seen.try_emplace(d.dedup_key, d.fingerprint, line_no);
    if (!inserted) {
      if (it->second.first == d.fingerprint) {
        ++summary.duplicates;
      } else {
        ++summary.conflicts;
        if (rejects) {
          rejects({line_no, "conflict", 0,
                   "key " + d.dedup_key + " has other content on line " + std::to_string(it->second.second), text});
        }
      }
      continue;
    }
    pipeline::InMessage m;
    m.topic = "import";
    m.partition = 0;
    m.offset = static_cast<std::int64_t>(line_no);
    m.value = text;
    m.headers.push_back({kLineHeader, std::to_string(line_no)});
    messages.push_back(std::move(m));
    Line line;
    line.number = line_no;
    line.text = std::move(text);
    lines.emplace(line_no, std::move(line));
    text.clear();
  }
  seen.clear();

  // The rest runs on the daemon's pipeline: an in-memory dedup store (an earlier attempt
  // whose answer was lost turns a duplicate answer into "imported"), this process as the
  // retry and review topics.
  core::Clock& clock = core::system_clock();
  dedup::MemoryDedupStore store(std::chrono::hours(24 * 365), clock);
  std::multimap<core::Clock::TimePoint, pipeline::InMessage> due;  // retries waiting for their due time
  InProcessTopics topics(
      executor,
      [&](kafka::OutgoingMessage m) {
        kafka::Message record;
        record.topic = kRetryTopic;
        record.key = std::move(m.key);
        record.value = std::move(m.value);
        record.headers = std::move(m.headers);
        auto in = pipeline::to_in_message(std::move(record), true);
        if (auto it = lines.find(line_of(in.headers)); it != lines.end() && in.retry) {
          it->second.last_status = in.retry->last_status;
          it->second.last_error = in.retry->last_error;
        }
        const auto at = in.retry ? core::Clock::TimePoint(std::chrono::milliseconds(in.retry->due_ms)) : clock.now();
        due.emplace(at, std::move(in));
      },
      [&](kafka::OutgoingMessage m) {
        auto it = lines.find(line_of(m.headers));
        if (it == lines.end()) return;
        auto info = kafka::decode_review(m.headers);
        if (!info) {
          reject(it->second, "rejected", 0, "unreadable review record: " + info.error().message);
          return;
        }
        // The review record carries D365's error and then its body: the reject keeps the error.
        std::string error = info->d365_error;
        if (const auto nl = error.find('\n'); nl != std::string::npos) error.resize(nl);
        reject(it->second, std::string(core::to_string(info->reason)), info->d365_status, std::move(error));
      });
  CountingSender counting(sender, summary, settings.max_wait, settings.notice);

  pipeline::PipelineConfig config = settings.pipeline;
  config.retry_topic = kRetryTopic;
  config.review_topic = kReviewTopic;
  std::string fatal;
  pipeline::PipelineEvents events;
  events.done = [&](const pipeline::InMessage& m, core::Outcome outcome) {
    auto it = lines.find(line_of(m.headers));
    if (it == lines.end()) return;
    using core::Outcome;
    switch (outcome) {
      case Outcome::imported:
      case Outcome::recovered: ++summary.imported; break;
      case Outcome::duplicate: ++summary.duplicates; break;
      case Outcome::retried: ++summary.retried; return;  // not settled yet
      case Outcome::conflict: ++summary.conflicts; break;
      case Outcome::invalid: ++summary.invalid; break;
      case Outcome::rejected:
      case Outcome::exhausted:
      case Outcome::throttled: ++summary.failed; break;
    }
    it->second.settled = true;
  };
  events.fatal = [&](const std::string& reason) { fatal = reason; };
  pipeline::Pipeline pipeline(executor, config, {codec, store, counting, topics, clock}, events,
                              settings.seed != 0 ? std::optional<std::uint64_t>(settings.seed) : std::nullopt);
  pipeline.submit(std::move(messages));

  const auto started = Clock::now();
  auto next_progress = started + settings.progress_interval;
  auto to_send = [&] { return pipeline.backlog() + due.size(); };
  std::string stopped;
  asio::steady_timer wait(executor);
  while (true) {
    // Retries whose time has come go back in.
    std::vector<pipeline::InMessage> ready;
    while (!due.empty() && due.begin()->first <= clock.now()) {
      ready.push_back(std::move(due.begin()->second));
      due.erase(due.begin());
    }
    if (!ready.empty()) pipeline.submit(std::move(ready));
    if (!fatal.empty()) throw std::runtime_error(fatal);
    if (pipeline.backlog() == 0 && due.empty()) break;
    if (settings.stop_requested) stopped = settings.stop_requested();
    if (stopped.empty() && settings.deadline.count() > 0 && Clock::now() - started >= settings.deadline) {
      const auto ms = settings.deadline.count();
      stopped = "the deadline (" + (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms") +
                ") passed";
    }
    if (!stopped.empty()) break;
    const auto now = Clock::now();
    if (now >= next_progress) {
      if (progress) progress(summary, to_send(), false);
      next_progress = now + settings.progress_interval;
    }
    // Wait a short step: for the pipeline's work, or for the next due retry.
    const auto step = std::chrono::milliseconds(100);
    if (pipeline.backlog() > 0) {
      co_await pipeline.drain(step);
    } else {
      auto until = Clock::now() + step;
      if (!due.empty()) {
        until = std::min(until, Clock::now() + std::chrono::duration_cast<Clock::duration>(due.begin()->first - clock.now()));
      }
      wait.expires_at(until);
      co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  if (!stopped.empty()) {
    // Stop sending; what is in flight is answered and settled; every line without a final
    // outcome gets an `unsettled` record, so that a rerun of the rejects finishes the job.
    pipeline.stop_sending();
    while (!co_await pipeline.drain(std::chrono::milliseconds(100))) {
      if (pipeline.failed()) break;
    }
    if (!fatal.empty()) throw std::runtime_error(fatal);
    std::vector<const Line*> open;
    for (const auto& [number, line] : lines) {
      if (!line.settled) open.push_back(&line);
    }
    std::sort(open.begin(), open.end(), [](const Line* a, const Line* b) { return a->number < b->number; });
    for (const Line* line : open) {
      ++summary.unsettled;
      reject(*line, "unsettled", line->last_status,
             "not settled: import stopped because " + stopped +
                 (line->last_error.empty() ? "" : "; last error: " + line->last_error));
    }
    summary.stopped = stopped;
  }
  if (progress) progress(summary, 0, true);
  co_return summary;
}

int import_command(const ImportOptions& options) {
  // Config: every key the daemon knows is read, only what import uses is checked.
  auto loaded = app::load_daemon_config(options.config_path, config::environment(), [](const app::DaemonConfig& c) {
    auto problems = c.d365.validate();
    for (auto& p : c.pipeline.validate()) problems.push_back(std::move(p));
    return problems;
  });
  if (!loaded.problems.empty()) {
    for (const auto& p : loaded.problems) std::fprintf(stderr, "invoice-bridge import: %s\n", p.c_str());
    return 2;
  }
  const app::DaemonConfig& config = loaded.config;
  log::setup(config.log.format, config.log.level);

  std::ifstream file;
  std::istream* input = &std::cin;
  if (options.input != "-") {
    std::error_code dir_ec;
    if (std::filesystem::is_directory(options.input, dir_ec)) {
      std::fprintf(stderr, "invoice-bridge import: cannot read %s: is a directory\n", options.input.c_str());
      return 2;
    }
    file.open(options.input, std::ios::binary);
    if (!file) {
      std::fprintf(stderr, "invoice-bridge import: cannot read %s: %s\n", options.input.c_str(), std::strerror(errno));
      return 2;
    }
    input = &file;
  }
  std::string rejects_path = options.rejects_path;
  if (rejects_path.empty()) {
    rejects_path = options.input == "-" ? "import.rejects.ndjson" : options.input + ".rejects.ndjson";
  }
  std::ofstream rejects(rejects_path, std::ios::binary | std::ios::trunc);
  if (!rejects) {
    std::fprintf(stderr, "invoice-bridge import: cannot write %s\n", rejects_path.c_str());
    return 2;
  }

  ImportSettings settings;
  settings.pipeline = config.pipeline;
  settings.pipeline.max_throttled_resends = options.max_throttled_resends;
  settings.max_wait = options.max_wait;
  settings.deadline = options.deadline;
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  settings.progress_interval = tty ? std::chrono::milliseconds(500) : std::chrono::milliseconds(10'000);

  asio::io_context io;
  std::unique_ptr<d365::EntityInvoiceCodec> codec;
  std::unique_ptr<d365::Sender> sender;
  try {
    codec = std::make_unique<d365::EntityInvoiceCodec>(config.d365.invoice, config.d365.key, config.d365.mapping);
    auto transport = d365::make_d365_transport(io.get_executor(), config.d365, config::environment());
    sender = d365::make_sender(transport, config.d365, config.pipeline.batch.max_items);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "invoice-bridge import: %s\n", e.what());
    return 2;
  }

  // SIGINT / SIGTERM: stop sending, settle what is in flight, write the summary and an
  // `unsettled` record for every line not settled (a second signal changes nothing).
  std::string stop_reason;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    stop_reason = signo == SIGINT ? "SIGINT was received" : "SIGTERM was received";
    std::fprintf(stderr, "%sinvoice-bridge import: %s; settling what is in flight, then stopping\n",
                 tty && options.progress ? "\n" : "", stop_reason.c_str());
  });
  settings.stop_requested = [&stop_reason] { return stop_reason; };
  settings.notice = [tty](const std::string& line) {
    std::fprintf(stderr, "%sinvoice-bridge import: %s\n", tty ? "\r\033[K" : "", line.c_str());
  };
  auto sink = [&rejects](const ImportReject& r) { rejects << r.to_json() << '\n'; };
  ImportProgress show;
  if (options.progress) {
    show = [tty](const ImportSummary& s, std::size_t to_send, bool final) {
      const auto line = s.to_line() + ", to send " + std::to_string(to_send);
      if (tty) {
        std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
      } else if (!final) {
        std::fprintf(stderr, "progress: %s\n", line.c_str());
      }
      std::fflush(stderr);
    };
  }
  std::optional<ImportSummary> summary;
  std::string error;
  asio::co_spawn(io, run_import(*input, *codec, *sender, settings, sink, show),
                 [&](std::exception_ptr e, ImportSummary s) {
                   signals.cancel();
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       error = ex.what();
                     }
                   } else {
                     summary = s;
                   }
                 });
  io.run();
  rejects.close();
  if (!summary) {
    std::fprintf(stderr, "invoice-bridge import: %s\n", error.c_str());
    return 2;
  }
  if (const auto* b = dynamic_cast<const d365::BulkClient*>(sender.get())) summary->bulk = b->stats();
  std::fprintf(stderr, "import done: %s; rejects in %s\n", summary->to_line().c_str(), rejects_path.c_str());
  if (!options.summary_json.empty()) {
    std::ofstream out(options.summary_json, std::ios::binary | std::ios::trunc);
    out << summary->to_json() << '\n';
    if (!out) {
      std::fprintf(stderr, "invoice-bridge import: cannot write %s\n", options.summary_json.c_str());
      return 2;
    }
  }
  if (!summary->stopped.empty()) return 3;
  const bool clean = summary->invalid == 0 && summary->conflicts == 0 && summary->failed == 0;
  return clean ? 0 : 1;
}

}  // namespace ib::tools
