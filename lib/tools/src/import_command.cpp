#include "tools/import_command.hpp"

// g++ 12 reports asio's awaitable frame operator new/delete pair as mismatched when it
// inlines both into a large coroutine (a false positive: both use asio's recycling allocator).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "d365/d365_transport.hpp"
#include "d365/batch_client.hpp"
#include "app/daemon_config.hpp"
#include "config/config_source.hpp"
#include "core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
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
  return boost::json::serialize(o);
}

std::string ImportSummary::to_line() const {
  return "read " + std::to_string(read) + ", imported " + std::to_string(imported) + ", duplicates " +
         std::to_string(duplicates) + ", conflicts " + std::to_string(conflicts) + ", invalid " +
         std::to_string(invalid) + ", failed " + std::to_string(failed) + ", retried " +
         std::to_string(retried) + ", requests " + std::to_string(requests_sent);
}

namespace {

struct Item {
  std::size_t line = 0;
  std::string text;
  d365::DecodedInvoice decoded;
  int attempts = 0;  // sends that ended transient
  int resends = 0;
  bool maybe_landed = false;  // an earlier send's outcome was unknown
  int last_status = 0;
  std::string last_error;
};

struct State {
  ImportSettings settings;
  d365::Sender& sender;
  ImportRejectSink rejects;
  std::vector<Item> items;
  std::deque<std::size_t> ready;
  std::multimap<Clock::time_point, std::size_t> delayed;
  batch::AimdLimiter limiter;
  retry::Rng rng;
  ImportSummary summary;
  int in_flight = 0;
  bool dirty = false;
  asio::steady_timer wake;

  State(ImportSettings s, d365::Sender& snd, ImportRejectSink r, asio::any_io_executor ex)
      : settings(std::move(s)), sender(snd), rejects(std::move(r)), limiter(settings.aimd),
        rng(settings.seed != 0 ? settings.seed : std::random_device{}()), wake(ex) {}

  void reject(const Item& item, std::string reason, int status, std::string error) {
    ++summary.failed;
    if (rejects) rejects({item.line, std::move(reason), status, std::move(error), item.text});
  }

  void settle(std::vector<std::size_t> batch, const std::vector<d365::Answer>& answers) {
    const auto now = Clock::now();
    bool throttled = false;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Item& item = items[batch[i]];
      d365::Answer answer;
      if (i < answers.size()) {
        answer = answers[i];
      } else {
        answer.outcome = core::AnswerClass::not_processed;
        answer.error = "not processed: no answer";
      }
      item.last_status = answer.status;
      item.last_error = answer.error;
      using R = core::AnswerClass;
      switch (answer.outcome) {
        case R::created: ++summary.imported; break;
        case R::duplicate:
          // Our own earlier attempt may have landed: then it is ours, imported.
          if (item.maybe_landed) {
            ++summary.imported;
          } else {
            ++summary.duplicates;
          }
          break;
        case R::throttled:
          throttled = true;
          ++summary.throttled;
          limiter.on_throttle(now, answer.retry_after);
          [[fallthrough]];
        case R::not_processed:
          if (++item.resends > settings.max_resends) {
            reject(item, "resend_limit", answer.status, answer.error);
          } else {
            ++summary.resent;
            ready.push_back(batch[i]);
          }
          break;
        case R::transient:
          item.maybe_landed = true;
          ++item.attempts;
          if (retry::may_retry(settings.backoff, item.attempts)) {
            ++summary.retried;
            delayed.emplace(now + retry::delay_for(settings.backoff, item.attempts, rng), batch[i]);
          } else {
            reject(item, "exhausted", answer.status, answer.error);
          }
          break;
        case R::permanent: reject(item, "rejected", answer.status, answer.error); break;
      }
    }
    if (!throttled) limiter.on_success();
  }

  asio::awaitable<void> send_batch(std::vector<std::size_t> batch) {
    std::vector<odata::EntityWrite> writes;
    writes.reserve(batch.size());
    for (auto i : batch) writes.push_back(items[i].decoded.write);
    ++summary.requests_sent;
    std::vector<d365::Answer> answers;
    try {
      answers = co_await sender.send(std::move(writes));
    } catch (const std::exception& e) {
      answers.assign(batch.size(), d365::Answer{});
      for (auto& a : answers) a.error = std::string("send failed: ") + e.what();
    }
    settle(std::move(batch), answers);
    --in_flight;
    dirty = true;
    wake.cancel();
  }

  /// Takes the next batch off `ready` (the Batcher decides where it closes).
  std::vector<std::size_t> next_batch() {
    batch::Batcher<std::size_t> batcher(settings.batch);
    const auto now = Clock::now();
    std::optional<std::vector<std::size_t>> closed;
    while (!ready.empty() && !closed) {
      const auto index = ready.front();
      ready.pop_front();
      closed = batcher.add(index, items[index].decoded.request_bytes(), now);
    }
    auto rest = batcher.flush();
    if (!closed) return rest;
    ready.insert(ready.begin(), rest.begin(), rest.end());
    return std::move(*closed);
  }
};

}  // namespace

asio::awaitable<ImportSummary> run_import(std::istream& input, ImportDecode decode, d365::Sender& sender,
                                          ImportSettings settings, ImportRejectSink rejects,
                                          ImportProgress progress) {
  auto executor = co_await asio::this_coro::executor;
  State state(std::move(settings), sender, std::move(rejects), executor);
  auto& summary = state.summary;

  // Read and decode everything first: in-file duplicates need every line anyway.
  std::unordered_map<std::string, std::pair<std::string, std::size_t>> seen;  // key -> (fingerprint, line)
  std::string text;
  std::size_t line_no = 0;
  while (std::getline(input, text)) {
    ++line_no;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    ++summary.read;
    auto decoded = decode(text);
    if (!decoded) {
      ++summary.invalid;
      if (state.rejects) state.rejects({line_no, "invalid", 0, decoded.error().message, text});
      continue;
    }
    auto& d = *decoded;
    auto [it, inserted] = seen.try_emplace(d.dedup_key, d.fingerprint, line_no);
    if (!inserted) {
      if (it->second.first == d.fingerprint) {
        ++summary.duplicates;
      } else {
        ++summary.conflicts;
        if (state.rejects) {
          state.rejects({line_no, "conflict", 0,
                         "key " + d.dedup_key + " has other content on line " + std::to_string(it->second.second),
                         text});
        }
      }
      continue;
    }
    Item item;
    item.line = line_no;
    item.text = std::move(text);
    item.decoded = std::move(d);
    state.ready.push_back(state.items.size());
    state.items.push_back(std::move(item));
    text.clear();
  }
  seen.clear();

  auto next_progress = Clock::now() + state.settings.progress_interval;
  auto pending = [&] { return state.ready.size() + state.delayed.size() + std::size_t(state.in_flight); };
  while (true) {
    auto now = Clock::now();
    while (!state.delayed.empty() && state.delayed.begin()->first <= now) {
      state.ready.push_back(state.delayed.begin()->second);
      state.delayed.erase(state.delayed.begin());
    }
    while (!state.ready.empty() && state.limiter.may_send(state.in_flight, now)) {
      ++state.in_flight;
      asio::co_spawn(executor, state.send_batch(state.next_batch()), [&state](std::exception_ptr e) {
        // send_batch catches the sender's exceptions; anything else is a bug: stop waiting for it.
        if (e) {
          --state.in_flight;
          state.dirty = true;
          state.wake.cancel();
        }
      });
    }
    if (now >= next_progress) {
      if (progress) progress(summary, pending(), false);
      next_progress = now + state.settings.progress_interval;
    }
    if (state.ready.empty() && state.delayed.empty() && state.in_flight == 0) break;

    auto until = next_progress;
    if (!state.delayed.empty()) until = std::min(until, state.delayed.begin()->first);
    if (!state.ready.empty() && state.limiter.paused_until() > now) {
      until = std::min(until, state.limiter.paused_until());
    }
    if (state.dirty) {
      state.dirty = false;
      continue;
    }
    state.wake.expires_at(until);
    co_await state.wake.async_wait(asio::as_tuple(asio::use_awaitable));
    state.dirty = false;
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
  settings.batch = config.pipeline.batch;
  settings.aimd = config.pipeline.aimd;
  settings.backoff = config.pipeline.backoff;
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  settings.progress_interval = tty ? std::chrono::milliseconds(500) : std::chrono::milliseconds(10'000);

  asio::io_context io;
  std::unique_ptr<d365::EntityInvoiceCodec> codec;
  std::unique_ptr<d365::BatchClient> sender;
  try {
    codec = std::make_unique<d365::EntityInvoiceCodec>(config.d365.invoice, config.d365.key, config.d365.mapping);
    auto transport = d365::make_d365_transport(io.get_executor(), config.d365, config::environment());
    sender = std::make_unique<d365::BatchClient>(
        transport, config.d365.batch_client_config(config.pipeline.batch.max_items));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "invoice-bridge import: %s\n", e.what());
    return 2;
  }

  auto decode = [&codec](std::string_view line) { return codec->decode(line); };
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
  asio::co_spawn(io, run_import(*input, decode, *sender, settings, sink, show),
                 [&](std::exception_ptr e, ImportSummary s) {
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
  std::fprintf(stderr, "import done: %s; rejects in %s\n", summary->to_line().c_str(), rejects_path.c_str());
  if (!options.summary_json.empty()) {
    std::ofstream out(options.summary_json, std::ios::binary | std::ios::trunc);
    out << summary->to_json() << '\n';
    if (!out) {
      std::fprintf(stderr, "invoice-bridge import: cannot write %s\n", options.summary_json.c_str());
      return 2;
    }
  }
  const bool clean = summary->invalid == 0 && summary->conflicts == 0 && summary->failed == 0;
  return clean ? 0 : 1;
}

}  // namespace ib::tools
