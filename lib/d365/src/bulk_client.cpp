#include "d365/bulk_client.hpp"

#include "odata/batch_reader.hpp"
#include "odata/classify.hpp"
#include "odata/odata_url.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <utility>

namespace ib::d365 {

namespace json = boost::json;

std::string_view to_string(BulkMessage m) {
  switch (m) {
    case BulkMessage::create_multiple: return "create_multiple";
    case BulkMessage::upsert_multiple: return "upsert_multiple";
  }
  return "create_multiple";
}

std::optional<BulkMessage> parse_bulk_message(std::string_view name) {
  if (name == "create_multiple") return BulkMessage::create_multiple;
  if (name == "upsert_multiple") return BulkMessage::upsert_multiple;
  return std::nullopt;
}

std::string_view to_string(BulkFallback f) {
  switch (f) {
    case BulkFallback::batch: return "batch";
    case BulkFallback::bisect: return "bisect";
  }
  return "batch";
}

std::optional<BulkFallback> parse_bulk_fallback(std::string_view name) {
  if (name == "batch") return BulkFallback::batch;
  if (name == "bisect") return BulkFallback::bisect;
  return std::nullopt;
}

std::vector<std::string> BulkClientConfig::validate() const {
  auto problems = batch.validate();
  if (entity_type.empty())
    problems.push_back("d365.odata.entity_type: required for " + std::string(to_string(message)) +
                       " (the table's logical name, written as @odata.type)");
  for (char c : entity_type)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
      problems.push_back("d365.odata.entity_type: '" + entity_type +
                         "' is not a logical name (letters, digits, '_')");
      break;
    }
  if (!(skip_above > 0 && skip_above <= 1))
    problems.push_back("d365.odata.bulk_skip_above: must be above 0 and at most 1 (1 = always send the bulk message)");
  return problems;
}

std::optional<std::string> bulk_body(const std::vector<odata::EntityWrite>& writes,
                                     BulkMessage message, std::string_view entity_type) {
  json::array targets;
  targets.reserve(writes.size());
  const auto type = "Microsoft.Dynamics.CRM." + std::string(entity_type);
  for (const auto& w : writes) {
    boost::system::error_code ec;
    auto v = json::parse(w.body, ec);
    if (ec || !v.is_object()) return std::nullopt;
    auto& o = v.get_object();
    o["@odata.type"] = type;
    if (message == BulkMessage::upsert_multiple) {
      for (const auto& [name, value] : w.key) o.erase(name);
      o["@odata.id"] = odata::entity_path(w.entity_set, w.key);
    }
    targets.push_back(std::move(v));
  }
  json::object body;
  body["Targets"] = std::move(targets);
  return json::serialize(body);
}

namespace {

// The path of `url` (`https://host/api/data/v9.2` -> `/api/data/v9.2`).
std::string url_path(std::string_view url) {
  const auto scheme = url.find("://");
  const auto from = scheme == std::string_view::npos ? 0 : scheme + 3;
  const auto slash = url.find('/', from);
  if (slash == std::string_view::npos) return {};
  auto path = std::string(url.substr(slash));
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

Answer whole(core::AnswerClass outcome, int status, std::string error, std::string body = {}) {
  Answer a;
  a.outcome = outcome;
  a.status = status;
  a.error = std::move(error);
  a.body = std::move(body);
  return a;
}

}  // namespace

BulkClient::BulkClient(std::shared_ptr<http::Transport> transport, BulkClientConfig config)
    : transport_(std::move(transport)), config_(std::move(config)) {
  if (!transport_) throw std::invalid_argument("d365::BulkClient: no transport");
  auto problems = config_.validate();
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
    throw std::invalid_argument(all);
  }
  auto fallback = config_.batch;
  fallback.odata.operation = config_.message == BulkMessage::upsert_multiple ? odata::Operation::upsert
                                                                               : odata::Operation::create;
  fallback.odata.continue_on_error = true;
  fallback.odata.atomic = false;
  fallback_ = std::make_unique<BatchClient>(transport_, std::move(fallback));
}

boost::asio::awaitable<std::vector<Answer>> BulkClient::send(std::vector<odata::EntityWrite> writes) {
  std::vector<Answer> answers;
  answers.reserve(writes.size());
  const std::size_t chunk = std::max<std::size_t>(1, config_.batch.odata.max_requests);
  std::size_t begin = 0;
  while (begin < writes.size()) {
    std::size_t end = begin + 1;
    while (end < writes.size() && end - begin < chunk && writes[end].entity_set == writes[begin].entity_set)
      ++end;
    std::vector<odata::EntityWrite> part(std::make_move_iterator(writes.begin() + begin),
                                         std::make_move_iterator(writes.begin() + end));
    begin = end;
    // Most recent messages were refused: this one most likely would be too, so the `$batch`
    // alone does the work, except for a probe now and then.
    if (part.size() > 1 && fatal_.empty() && refused_share_ > config_.skip_above &&
        ++skipping_slices_ % kBulkProbeEvery != 0) {
      ++stats_.slices_skipped;
      auto fallback = co_await fallback_->send(std::move(part));
      answers.insert(answers.end(), std::make_move_iterator(fallback.begin()), std::make_move_iterator(fallback.end()));
      continue;
    }
    co_await send_slice(std::move(part), answers);
  }
  co_return answers;
}

boost::asio::awaitable<void> BulkClient::send_slice(std::vector<odata::EntityWrite> writes,
                                                    std::vector<Answer>& out, bool whole_slice) {
  const auto n = writes.size();
  const auto answer_all = [&](const Answer& a) { out.insert(out.end(), n, a); };
  if (!fatal_.empty()) {
    auto a = whole(core::AnswerClass::not_processed, 0, fatal_);
    a.fatal = fatal_;
    answer_all(a);
    co_return;
  }
  auto body = bulk_body(writes, config_.message, config_.entity_type);
  if (!body) {
    // One body is not a JSON object: only the `$batch` path can answer each on its own.
    ++stats_.fallback_batches;
    auto answers = co_await fallback_->send(std::move(writes));
    out.insert(out.end(), std::make_move_iterator(answers.begin()), std::make_move_iterator(answers.end()));
    co_return;
  }
  const bool upsert = config_.message == BulkMessage::upsert_multiple;
  http::Request request;
  request.method = "POST";
  request.target = url_path(config_.batch.odata.service_url) + "/" + writes.front().entity_set +
                   (upsert ? "/Microsoft.Dynamics.CRM.UpsertMultiple" : "/Microsoft.Dynamics.CRM.CreateMultiple");
  request.headers = {{"Content-Type", "application/json; charset=utf-8"},
                     {"Accept", "application/json"},
                     {"OData-MaxVersion", "4.0"},
                     {"OData-Version", "4.0"}};
  request.body = std::move(*body);
  request.deadline = config_.batch.request_deadline;
  request.idempotent = false;
  ++stats_.messages_sent;
  stats_.records_written += n;

  auto response = co_await transport_->send(std::move(request));
  if (!response) {
    ++stats_.transport_failures;
    const auto& failure = response.error();
    if (failure.code == http::TransportError::tls_verify_failed) {
      fatal_ = failure.message;
      auto a = whole(core::AnswerClass::not_processed, 0, fatal_);
      a.fatal = fatal_;
      answer_all(a);
      co_return;
    }
    odata::ClassifyInput in;
    in.transport = to_transport_failure(failure.code);
    auto c = odata::classify(in, config_.batch.classify);
    const bool final = failure.code == http::TransportError::auth_rejected ||
                       failure.code == http::TransportError::invalid_request;
    answer_all(whole(final ? core::AnswerClass::permanent : c.outcome, 0, http::to_string(failure)));
    co_return;
  }

  // The pacing headers of this HTTP answer go on every answer it gives (fallback answers
  // carry their own `$batch` answer's).
  const auto pacing = read_pacing(response->headers);
  const auto paced = [&pacing](Answer a) {
    a.pacing = pacing;
    return a;
  };
  if (response->status >= 200 && response->status < 300) {
    if (n > 1 && whole_slice) remember(false);
    if (upsert) {  // 204, no body: every record written (all or nothing)
      answer_all(paced(whole(core::AnswerClass::created, response->status, {})));
      co_return;
    }
    // CreateMultiple's answer names one id per target, in order. Anything else (an HTML page
    // from a proxy, too few or too many ids, an id that is not a string) does not prove the
    // records exist: the outcome is unknown, so every write is transient and sent again
    // (a record that was created then answers as a duplicate; none is counted imported
    // without D365 saying so).
    std::vector<std::string> ids;
    bool named = false;
    boost::system::error_code ec;
    auto v = json::parse(response->body, ec);
    if (!ec && v.is_object())
      if (auto* a = v.get_object().if_contains("Ids"); a && a->is_array()) {
        named = a->get_array().size() == n;
        for (const auto& id : a->get_array()) {
          if (!id.is_string() || id.get_string().empty()) named = false;
          else ids.emplace_back(id.get_string());
        }
      }
    if (!named) {
      answer_all(paced(whole(core::AnswerClass::transient, response->status,
                             "not processed: " + std::to_string(response->status) +
                                 " CreateMultiple answer without one id per record (" + std::to_string(n) +
                                 " records); outcome unknown")));
      co_return;
    }
    for (std::size_t i = 0; i < n; ++i) {
      auto a = paced(whole(core::AnswerClass::created, response->status, {}));
      a.record_id = ids[i];
      out.push_back(std::move(a));
    }
    co_return;
  }

  const auto error = odata::parse_error_body(response->body);
  const auto& code = error.code;
  const auto& message = error.message;
  odata::ClassifyInput in;
  in.status = response->status;
  in.error_code = code;
  in.error_message = message;
  in.inner_error_message = error.inner_message;
  if (auto ra = response->header("Retry-After")) in.retry_after = odata::parse_retry_after(*ra);
  const auto c = odata::classify(in, config_.batch.classify);
  auto line = std::to_string(response->status) + (code.empty() ? "" : " " + code) + ": " +
              (message.empty() ? std::string("bulk message refused") : message);
  const bool record_level =
      c.outcome == core::AnswerClass::duplicate || c.outcome == core::AnswerClass::permanent;
  if (record_level) ++stats_.messages_refused;
  if (!record_level || n == 1) {
    auto a = paced(whole(c.outcome, response->status, std::move(line), response->body));
    if (c.retry_after) a.retry_after = *c.retry_after;
    answer_all(a);
    co_return;
  }
  if (whole_slice) remember(true);
  if (config_.fallback == BulkFallback::batch) {
    ++stats_.fallback_batches;
    auto answers = co_await fallback_->send(std::move(writes));
    out.insert(out.end(), std::make_move_iterator(answers.begin()), std::make_move_iterator(answers.end()));
    co_return;
  }
  const auto half = n / 2;
  std::vector<odata::EntityWrite> right(std::make_move_iterator(writes.begin() + static_cast<std::ptrdiff_t>(half)),
                                        std::make_move_iterator(writes.end()));
  writes.resize(half);
  co_await send_slice(std::move(writes), out, false);
  co_await send_slice(std::move(right), out, false);
}

void BulkClient::remember(bool refused) {
  constexpr double kNewest = 0.25;
  refused_share_ = refused_share_ * (1 - kNewest) + (refused ? kNewest : 0.0);
}

}  // namespace ib::d365
