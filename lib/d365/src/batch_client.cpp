#include "d365/batch_client.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace ib::d365 {

std::vector<std::string> BatchClientConfig::validate() const {
  std::vector<std::string> problems = odata.validate();
  for (auto& p : classify.validate()) problems.push_back(std::move(p));
  if (request_deadline.count() <= 0) problems.push_back("d365.request_deadline: must be positive");
  return problems;
}

namespace {

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The whole of `text` as a T, or nullopt.
template <typename T>
std::optional<T> parse_whole(std::optional<std::string_view> text) {
  if (!text) return std::nullopt;
  const auto s = trimmed(*text);
  T v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

batch::PacingSignal read_pacing(const http::Headers& headers) {
  batch::PacingSignal s;
  if (auto v = parse_whole<int>(http::find_header(headers, "x-ms-dop-hint")); v && *v >= 1) s.dop_hint = v;
  s.requests_remaining =
      parse_whole<std::uint64_t>(http::find_header(headers, "x-ms-ratelimit-burst-remaining-xrm-requests"));
  if (auto v = parse_whole<double>(http::find_header(headers, "x-ms-ratelimit-time-remaining-xrm-requests"));
      v && std::isfinite(*v) && *v >= 0) {
    s.time_remaining_s = v;
  }
  return s;
}

odata::TransportFailure to_transport_failure(http::TransportError error) {
  using E = http::TransportError;
  using F = odata::TransportFailure;
  switch (error) {
    case E::timeout: return F::timeout;
    case E::connection_reset: return F::connection_reset;
    case E::resolve_failed:
    case E::connect_failed:
    case E::auth_unavailable:
    case E::shutdown: return F::connect_failed;
    case E::tls_failed:
    case E::tls_verify_failed: return F::tls_failed;
    case E::invalid_request:
    case E::protocol_error:
    case E::body_too_large:
    case E::auth_rejected: return F::protocol_error;
  }
  return F::protocol_error;
}

Answer to_answer(const odata::RequestResult& result) {
  Answer a;
  a.outcome = result.classification.outcome;
  a.status = result.part.status;
  a.error = result.error;
  if (a.outcome != core::AnswerClass::created) a.body = result.part.body;
  a.record_id = result.part.record_id;
  if (result.classification.retry_after) a.retry_after = *result.classification.retry_after;
  return a;
}

BatchClient::BatchClient(std::shared_ptr<http::Transport> transport, BatchClientConfig config)
    : transport_(std::move(transport)), config_(std::move(config)) {
  if (!transport_) throw std::invalid_argument("d365::BatchClient: no transport");
  auto problems = config_.validate();
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
    throw std::invalid_argument(all);
  }
}

namespace {

std::vector<Answer> fatal_answers(std::size_t n, const std::string& why) {
  Answer a;
  a.outcome = core::AnswerClass::not_processed;
  a.error = why;
  a.fatal = why;
  return std::vector<Answer>(n, a);
}

}  // namespace

boost::asio::awaitable<std::vector<Answer>> BatchClient::send(std::vector<odata::EntityWrite> writes) {
  if (!fatal_.empty()) {
    ++stats_.refused_after_fatal;
    co_return fatal_answers(writes.size(), fatal_);
  }
  std::vector<Answer> answers;
  answers.reserve(writes.size());
  // Chunks of at most max_requests operations (a write with lines counts 1 + its lines,
  // and never splits: its change set is all or nothing).
  const std::size_t limit = std::max<std::size_t>(1, config_.odata.max_requests);
  for (std::size_t begin = 0, end = 0; begin < writes.size(); begin = end) {
    std::size_t operations = odata::operation_count(writes[begin]);
    end = begin + 1;
    while (end < writes.size() && operations + odata::operation_count(writes[end]) <= limit)
      operations += odata::operation_count(writes[end++]);
    std::vector<odata::EntityWrite> part(std::make_move_iterator(writes.begin() + begin),
                                         std::make_move_iterator(writes.begin() + end));
    auto encoded = odata::encode_batch(part, config_.odata);
    if (!encoded) {
      for (std::size_t i = begin; i < end; ++i) {
        Answer a;
        a.outcome = core::AnswerClass::permanent;
        a.error = "cannot write the request: " + encoded.error().message;
        answers.push_back(std::move(a));
      }
      continue;
    }
    http::Request request;
    request.method = "POST";
    request.target = encoded->target;
    request.headers = http::Headers(encoded->headers.begin(), encoded->headers.end());
    request.body = std::move(encoded->body);
    request.deadline = config_.request_deadline;
    request.idempotent = false;
    ++stats_.batches_sent;
    stats_.requests_written += operations;

    auto response = co_await transport_->send(std::move(request));
    std::vector<odata::RequestResult> results;
    batch::PacingSignal pacing;
    if (!response && response.error().code == http::TransportError::tls_verify_failed) {
      // Nothing was sent; this chunk, the rest of this call and every later call answer
      // fatal: a configuration problem is not retried through the backoff schedule.
      ++stats_.transport_failures;
      fatal_ = response.error().message;
      auto rest = fatal_answers(writes.size() - begin, fatal_);
      answers.insert(answers.end(), rest.begin(), rest.end());
      co_return answers;
    }
    if (!response) {
      ++stats_.transport_failures;
      const auto& failure = response.error();
      const auto kind = to_transport_failure(failure.code);
      // `timeout: <message>`, not `timeout: timeout: <message>`; a kind that the odata
      // classification folds into another (body_too_large -> protocol_error) keeps its name.
      const bool same_name = odata::to_string(kind) == http::to_string(failure.code);
      results = odata::results_for_transport_failure(*encoded, kind,
                                                     same_name ? failure.message : http::to_string(failure));
      const bool final = failure.code == http::TransportError::auth_rejected ||
                         failure.code == http::TransportError::invalid_request;
      for (auto& r : results) {
        if (final) r.classification.outcome = core::AnswerClass::permanent;
      }
    } else {
      pacing = read_pacing(response->headers);
      odata::BatchHttpResponse in;
      in.status = response->status;
      in.headers = std::move(response->headers);
      in.body = std::move(response->body);
      results = odata::read_batch_response(*encoded, in, config_.classify);
    }
    for (std::size_t i = 0; i < part.size(); ++i) {
      if (i < results.size()) {
        answers.push_back(to_answer(results[i]));
        answers.back().pacing = pacing;
      } else {
        Answer a;
        a.outcome = core::AnswerClass::not_processed;
        a.error = "not processed: no result";
        answers.push_back(std::move(a));
      }
    }
  }
  co_return answers;
}

}  // namespace ib::d365
