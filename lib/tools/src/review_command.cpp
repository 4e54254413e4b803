#include "tools/review_command.hpp"

#include "d365/invoice_codec.hpp"
#include "kafka/headers.hpp"
#include "kafka/rdkafka_producer.hpp"
#include "kafka/topic_reader.hpp"
#include "json_output.hpp"
#include "tool_support.hpp"

#include "core/utf8.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

namespace ib::tools {

namespace {

namespace json = boost::json;
constexpr std::string_view kPrefix = "invoice-bridge review";

// One message of the review topic with its decoded headers.
struct Entry {
  kafka::Message message;
  std::optional<kafka::ReviewInfo> info;  // nullopt: headers not decodable (header_error says why)
  std::string header_error;

  std::string id() const { return std::to_string(message.partition) + ":" + std::to_string(message.offset); }
  std::string reason() const { return info ? std::string(core::to_string(info->reason)) : "unknown"; }
  // Sends to D365 this invoice had. A review message's retry history counts every attempt,
  // the one that sent it to review included; without one, D365 saw it once if its answer
  // is what sent it to review.
  int sends() const {
    if (!info) return 0;
    if (info->retry) return info->retry->attempt;
    const bool answered = info->reason == kafka::ReviewReason::rejected ||
                          info->reason == kafka::ReviewReason::exhausted;
    return answered ? 1 : 0;
  }
};

Entry make_entry(kafka::Message m) {
  Entry e;
  auto info = kafka::decode_review(m.headers);
  if (info) {
    e.info = std::move(*info);
  } else {
    e.header_error = info.error().message;
  }
  e.message = std::move(m);
  return e;
}

std::optional<std::pair<std::int32_t, std::int64_t>> parse_id(std::string_view id) {
  const auto colon = id.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::int32_t p = 0;
  std::int64_t o = 0;
  const auto a = id.substr(0, colon), b = id.substr(colon + 1);
  const auto [pa, ea] = std::from_chars(a.data(), a.data() + a.size(), p);
  const auto [pb, eb] = std::from_chars(b.data(), b.data() + b.size(), o);
  if (a.empty() || b.empty() || ea != std::errc{} || eb != std::errc{} ||
      pa != a.data() + a.size() || pb != b.data() + b.size() || p < 0 || o < 0) {
    return std::nullopt;
  }
  return std::make_pair(p, o);
}

std::string origin_text(const kafka::Origin& o) {
  return o.topic + ":" + std::to_string(o.partition) + ":" + std::to_string(o.offset);
}

core::Clock::TimePoint from_ms(std::int64_t ms) {
  return core::Clock::TimePoint(std::chrono::milliseconds(ms));
}

std::optional<json::value> parse_json(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return std::nullopt;
  return v;
}

// One entry as one line of JSON. Every byte string from the topic (key, errors, headers,
// payload) goes through json_output: valid JSON whatever the bytes, exact bytes in a
// `_base64` sibling when they are not UTF-8, a JSON payload embedded as it is.
std::string entry_json(const Entry& e, bool full) {
  json::object o;
  o["id"] = e.id();
  o["partition"] = e.message.partition;
  o["offset"] = e.message.offset;
  json_output::put_text(o, "key", e.message.key);
  o["reason"] = e.reason();
  if (e.message.timestamp_ms >= 0) o["timestamp"] = tool::iso_utc(from_ms(e.message.timestamp_ms));
  if (e.info) {
    o["d365_status"] = e.info->d365_status;
    json_output::put_text(o, "d365_error", e.info->d365_error);
    o["replay_count"] = e.info->replay_count;
    json_output::put_text(o, "origin", origin_text(e.info->origin));
    o["sends"] = e.sends();
    if (e.info->retry) {
      json::object r;
      r["attempt"] = e.info->retry->attempt;
      r["due"] = tool::iso_utc(from_ms(e.info->retry->due_ms));
      r["last_status"] = e.info->retry->last_status;
      json_output::put_text(r, "last_error", e.info->retry->last_error);
      o["retry"] = std::move(r);
    }
  } else {
    json_output::put_text(o, "header_error", e.header_error);
  }
  if (!full) return json::serialize(o);
  json::array headers, headers_base64;
  bool all_utf8 = true;
  for (const auto& [k, v] : e.message.headers) {
    headers.push_back(json::array{json::string(core::to_valid_utf8(k)), json::string(core::to_valid_utf8(v))});
    headers_base64.push_back(json::array{json::string(core::base64_encode(k)), json::string(core::base64_encode(v))});
    all_utf8 = all_utf8 && core::is_valid_utf8(k) && core::is_valid_utf8(v);
  }
  o["headers"] = std::move(headers);
  // Same order as `headers`, [name, value] each in base64; only when one is not UTF-8.
  if (!all_utf8) o["headers_base64"] = std::move(headers_base64);
  return json_output::serialize_with_json(std::move(o), "payload", e.message.value);
}

void print_line(std::ostream& out, const Entry& e) {
  out << e.id() << '\t' << tool::one_line(e.message.key, 80) << '\t' << e.reason();
  if (e.info) {
    out << "\td365 " << e.info->d365_status << "\tsends " << e.sends() << "\torigin "
        << origin_text(e.info->origin);
    if (e.info->replay_count > 0) out << "\treplayed " << e.info->replay_count << "x";
    out << '\t' << tool::one_line(e.info->d365_error, 60);
  } else {
    out << "\theaders: " << tool::one_line(e.header_error, 60);
  }
  out << '\n';
}

void print_full(std::ostream& out, const Entry& e, const std::string& topic) {
  auto row = [&](std::string_view name, const std::string& value) {
    out << name << std::string(name.size() < 14 ? 14 - name.size() : 1, ' ') << value << '\n';
  };
  row("id", e.id());
  row("topic", topic);
  row("key", e.message.has_key ? tool::one_line(e.message.key, 500) : "(none)");
  if (e.message.timestamp_ms >= 0) row("timestamp", tool::iso_utc(from_ms(e.message.timestamp_ms)));
  row("reason", e.reason());
  if (e.info) {
    row("d365_status", std::to_string(e.info->d365_status));
    row("sends", std::to_string(e.sends()));
    row("replay_count", std::to_string(e.info->replay_count));
    row("origin", origin_text(e.info->origin));
    if (e.info->retry) {
      const auto& r = *e.info->retry;
      row("retry", "attempt " + std::to_string(r.attempt) + ", due " + tool::iso_utc(from_ms(r.due_ms)) +
                       ", last status " + std::to_string(r.last_status) + ", last error " +
                       tool::one_line(r.last_error, 500));
    }
    // The error line, then D365's error body (often JSON) on the next lines.
    out << "d365_error:\n";
    std::istringstream text(e.info->d365_error);
    for (std::string line; std::getline(text, line);) {
      out << "  ";
      if (auto parsed = parse_json(line); parsed && (parsed->is_object() || parsed->is_array())) {
        out << json_output::pretty(line, 1) << '\n';
      } else {
        out << line << '\n';
      }
    }
  } else {
    row("header_error", e.header_error);
  }
  out << "headers:\n";
  for (const auto& [k, v] : e.message.headers) out << "  " << k << ": " << tool::one_line(v, 2000) << '\n';
  out << "payload (" << e.message.value.size() << " bytes):\n";
  if (parse_json(e.message.value)) {
    out << json_output::pretty(e.message.value, 0) << '\n';
  } else {
    out << core::to_valid_utf8(e.message.value) << '\n';  // for a terminal: U+FFFD for bad bytes
  }
}

bool matches(const Entry& e, const ReviewOptions& o, const std::optional<kafka::ReviewReason>& reason,
             const std::set<std::pair<std::int32_t, std::int64_t>>& ids) {
  if (!o.keys.empty() && std::find(o.keys.begin(), o.keys.end(), e.message.key) == o.keys.end()) {
    return false;
  }
  if (reason && (!e.info || e.info->reason != *reason)) return false;
  if (!ids.empty() && ids.count({e.message.partition, e.message.offset}) == 0) return false;
  return true;
}

// The payload back on the input topic as a fresh first attempt, with the replay recorded.
kafka::OutgoingMessage replay_message(const Entry& e, const app::DaemonConfig& config, core::Clock& clock) {
  kafka::OutgoingMessage out;
  out.topic = config.topics.input;
  out.key = e.message.key;
  out.value = e.message.value;
  // Same partition as the original: copies of one invoice stay on one partition (one
  // consumer) whatever partitioner upstream used.
  if (e.info && e.info->origin.topic == config.topics.input) out.partition = e.info->origin.partition;
  const int previous = e.info ? e.info->replay_count : kafka::replay_count(e.message.headers);
  for (const auto& h : e.message.headers) {
    if (h.first.rfind("ib-", 0) != 0) out.headers.push_back(h);  // foreign headers (tracing) travel
  }
  out.headers.emplace_back(std::string(kafka::header::kReplayCount), std::to_string(previous + 1));
  out.headers.emplace_back(std::string(kafka::header::kReplayedFrom),
                           config.topics.review + ":" + e.id());
  out.headers.emplace_back(std::string(kafka::header::kReplayedAt), tool::iso_utc(clock.now()));
  out.headers.emplace_back(std::string(kafka::header::kReplayedReason), e.reason());
  return out;
}

// Forgets the selected entries' dedup keys when the store can be opened; says what happened.
void forget_keys(const app::DaemonConfig& config, const std::vector<const Entry*>& selected,
                 const d365::InvoiceCodec* codec, core::Clock& clock, std::ostream& out,
                 std::ostream& err) {
  std::set<std::string> keys;
  for (const auto* e : selected) {
    if (!codec) {
      if (!e->message.key.empty()) keys.insert(e->message.key);
      continue;
    }
    // An undecodable payload never reached the store: nothing to forget.
    if (auto decoded = codec->decode(e->message.value)) keys.insert(decoded->dedup_key);
  }
  if (keys.empty()) return;
  auto opened = tool::open_store(config.dedup, clock);
  if (!opened.store) {
    if (opened.failure == tool::OpenFailure::in_use) {
      out << "note: the dedup store at " << config.dedup.path.string()
          << " is held by a running daemon; it sends replayed invoices again (ib-replay-count)\n";
    } else if (opened.failure == tool::OpenFailure::other) {
      err << kPrefix << ": warning: " << opened.message
          << "; the daemon sends replayed invoices again (ib-replay-count)\n";
    }
    return;
  }
  std::size_t forgotten = 0;
  for (const auto& k : keys) {
    auto r = opened.store->forget(k);
    if (!r) {
      err << kPrefix << ": warning: " << r.error().message << '\n';
      continue;
    }
    if (*r) ++forgotten;
  }
  (void)opened.store->sync();
  out << "forgot " << forgotten << " of " << keys.size() << " dedup entries in "
      << config.dedup.path.string() << '\n';
}

int replay(const app::DaemonConfig& config, const std::vector<const Entry*>& selected,
           const ReviewOptions& options, const d365::InvoiceCodec* codec, core::Clock& clock,
           std::ostream& out, std::ostream& err) {
  if (options.dry_run) {
    for (const auto* e : selected) {
      out << "would replay " << e->id() << " key " << tool::one_line(e->message.key, 80) << " ("
          << e->reason() << ") to " << config.topics.input << '\n';
    }
    out << selected.size() << " entries would be replayed (dry run: nothing produced, nothing forgotten)\n";
    return kToolOk;
  }
  forget_keys(config, selected, codec, clock, out, err);

  std::unique_ptr<kafka::RdKafkaProducer> producer;
  try {
    producer = std::make_unique<kafka::RdKafkaProducer>(config.producer);
  } catch (const std::exception& e) {
    err << kPrefix << ": cannot create the producer: " << e.what() << '\n';
    return kToolUnavailable;
  }
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::optional<kafka::DeliveryReport>> reports(selected.size());
  std::size_t pending = selected.size();
  for (std::size_t i = 0; i < selected.size(); ++i) {
    producer->produce(replay_message(*selected[i], config, clock),
                      [&, i](const kafka::DeliveryReport& r) {
                        std::lock_guard lock(mutex);
                        reports[i] = r;
                        --pending;
                        cv.notify_all();
                      });
  }
  {
    // Every produce ends within delivery_timeout (then close() purges and reports the rest).
    std::unique_lock lock(mutex);
    cv.wait_for(lock, config.producer.delivery_timeout + std::chrono::seconds(5),
                [&] { return pending == 0; });
  }
  producer->close();
  std::size_t ok = 0;
  std::lock_guard lock(mutex);
  for (std::size_t i = 0; i < selected.size(); ++i) {
    const auto& e = *selected[i];
    const auto& r = reports[i];
    if (r && r->ok()) {
      ++ok;
      out << "replayed " << e.id() << " key " << tool::one_line(e.message.key, 80) << " -> "
          << r->topic << " " << r->partition << ":" << r->offset << '\n';
    } else {
      out << "FAILED " << e.id() << " key " << tool::one_line(e.message.key, 80) << ": "
          << (r ? r->error.message() : std::string("no delivery report")) << '\n';
    }
  }
  out << "replayed " << ok << " of " << selected.size() << " entries from " << config.topics.review
      << " to " << config.topics.input << "; " << (selected.size() - ok) << " failed\n";
  return ok == selected.size() ? kToolOk : kToolDeliveryFailed;
}

}  // namespace

std::string review_entry_json(const kafka::Message& message, bool full) {
  return entry_json(make_entry(message), full);
}

int run_review_command(const app::DaemonConfig& config, const ReviewOptions& options,
                       const d365::InvoiceCodec* codec, core::Clock& clock, std::ostream& out,
                       std::ostream& err) {
  using Action = ReviewOptions::Action;
  // Usage first: nothing is read for a command that cannot run.
  std::optional<kafka::ReviewReason> reason;
  if (!options.reason.empty()) {
    reason = ib::core::parse_review_reason(options.reason);
    if (!reason) {
      err << kPrefix << ": --reason must be one of invalid, conflict, rejected, exhausted (got '"
          << options.reason << "')\n";
      return kToolUsage;
    }
  }
  std::set<std::pair<std::int32_t, std::int64_t>> ids;
  for (const auto& id : options.ids) {
    const auto parsed = parse_id(id);
    if (!parsed) {
      err << kPrefix << ": --id must be PARTITION:OFFSET (got '" << id << "')\n";
      return kToolUsage;
    }
    ids.insert(*parsed);
  }
  std::optional<std::pair<std::int32_t, std::int64_t>> show_id;
  if (options.action == Action::show) {
    show_id = parse_id(options.id);
    if (!show_id) {
      err << kPrefix << ": ID must be PARTITION:OFFSET (got '" << options.id << "')\n";
      return kToolUsage;
    }
  }
  if (options.action == Action::replay && options.keys.empty() && !reason && ids.empty() &&
      !options.all) {
    err << kPrefix << ": replay needs a selector: --key, --reason, --id or --all\n";
    return kToolUsage;
  }

  kafka::TopicReadOptions read;
  read.properties = config.consumer.properties;
  if (!config.consumer.bootstrap_servers.empty()) {
    read.properties["bootstrap.servers"] = config.consumer.bootstrap_servers;
  }
  read.timeout = options.read_timeout;
  auto messages = kafka::read_topic_snapshot(config.topics.review, read);
  if (!messages) {
    const auto it = read.properties.find("bootstrap.servers");
    err << kPrefix << ": " << messages.error().message << " (bootstrap servers "
        << (it == read.properties.end() ? std::string("not set") : it->second) << ")\n";
    return kToolUnavailable;
  }
  std::vector<Entry> entries;
  entries.reserve(messages->size());
  for (auto& m : *messages) entries.push_back(make_entry(std::move(m)));

  if (options.action == Action::show) {
    for (const auto& e : entries) {
      if (e.message.partition != show_id->first || e.message.offset != show_id->second) continue;
      if (options.json) {
        out << entry_json(e, true) << '\n';
      } else {
        print_full(out, e, config.topics.review);
      }
      return kToolOk;
    }
    err << kPrefix << ": no entry " << options.id << " on " << config.topics.review << '\n';
    return kToolNotFound;
  }

  std::vector<const Entry*> selected;
  for (const auto& e : entries) {
    if (matches(e, options, reason, ids)) selected.push_back(&e);
  }
  if (options.action == Action::list) {
    for (const auto* e : selected) {
      if (options.json) {
        out << entry_json(*e, false) << '\n';
      } else {
        print_line(out, *e);
      }
    }
    if (!options.json) {
      err << selected.size() << " of " << entries.size() << " entries on " << config.topics.review << '\n';
    }
    return kToolOk;
  }
  if (selected.empty()) {
    err << kPrefix << ": no entry on " << config.topics.review << " matches; nothing replayed\n";
    return kToolNotFound;
  }
  return replay(config, selected, options, codec, clock, out, err);
}

int review_command(const std::string& config_path, const ReviewOptions& options) {
  auto config = tool::load_config(
      config_path,
      [](const app::DaemonConfig& c) {
        std::vector<std::string> problems;
        for (auto& p : c.consumer.validate()) problems.push_back("kafka.consumer: " + p);
        for (auto& p : c.producer.validate()) problems.push_back("kafka.producer: " + p);
        for (auto& p : c.dedup.validate()) problems.push_back(std::move(p));
        if (c.topics.input.empty() || c.topics.review.empty()) {
          problems.push_back("kafka.topics: input and review must not be empty");
        }
        return problems;
      },
      kPrefix, std::cerr);
  if (!config) return kToolUsage;
  // The daemon's decoder finds the dedup keys to forget; without a valid `d365:` invoice
  // section the message keys are used (upstream keys the input topic by dedup key).
  std::unique_ptr<d365::EntityInvoiceCodec> codec;
  try {
    codec = std::make_unique<d365::EntityInvoiceCodec>(config->d365.invoice, config->d365.key, config->d365.mapping);
  } catch (const std::exception& e) {
    if (options.action == ReviewOptions::Action::replay) {
      std::cerr << kPrefix << ": warning: " << e.what() << "; using message keys as dedup keys\n";
    }
  }
  return run_review_command(*config, options, codec.get(), core::system_clock(), std::cout, std::cerr);
}

}  // namespace ib::tools
