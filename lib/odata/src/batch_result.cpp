#include "odata/batch_result.hpp"

#include <unordered_map>

namespace ib::odata {
namespace {

bool is_2xx(int s) { return s >= 200 && s <= 299; }

std::string describe(const ResponsePart& p) {
  std::string e = std::to_string(p.status);
  if (!p.error_code.empty()) e += " " + p.error_code;
  if (!p.error_message.empty()) e += ": " + p.error_message;
  // F&O: the generic "An error has occurred." outside, the reason inside.
  if (!p.error_inner_message.empty() && p.error_inner_message != p.error_message)
    e += (p.error_message.empty() ? ": " : " ") + std::string("(") + p.error_inner_message + ")";
  return e;
}

ClassifyInput input_of(const ResponsePart& p, const BatchHttpResponse& response) {
  ClassifyInput in;
  in.status = p.status;
  in.error_code = p.error_code;
  in.error_message = p.error_message;
  in.inner_error_message = p.error_inner_message;
  in.retry_after = p.retry_after;
  if (!in.retry_after) {
    if (auto ra = find_header(response.headers, "Retry-After")) in.retry_after = parse_retry_after(*ra);
  }
  return in;
}

/// The one result of a request sent with lines (its own change set): see read_batch_response.
void fold_change_set(RequestResult& r, const std::vector<const ResponsePart*>& lines,
                     const BatchHttpResponse& response, const ClassifyConfig& config) {
  // Candidates in request order: the header (line 0), then each line.
  const ResponsePart* chosen = nullptr;
  std::size_t chosen_line = 0;
  auto consider = [&](const ResponsePart* p, std::size_t line) {
    if (!p || is_2xx(p->status)) return;
    if (!chosen || (chosen->status == 424 && p->status != 424)) {
      chosen = p;
      chosen_line = line;
    }
  };
  if (r.has_part) consider(&r.part, 0);
  for (std::size_t k = 0; k < lines.size(); ++k) consider(lines[k], k + 1);
  if (chosen) {
    const ResponsePart failed = *chosen;
    auto c = classify(input_of(failed, response), config);
    if (chosen_line > 0 && c.outcome == core::AnswerClass::duplicate) c = {core::AnswerClass::permanent, std::nullopt};
    if (c.outcome == core::AnswerClass::created) c = {core::AnswerClass::transient, std::nullopt};
    r.has_part = true;
    r.part = failed;
    r.classification = c;
    r.failed_line = chosen_line;
    r.error = (chosen_line > 0 ? "line " + std::to_string(chosen_line) + ": " : std::string()) + describe(failed);
    return;
  }
  if (!r.has_part) {
    bool any = false;
    for (const auto* p : lines) any = any || p;
    r.classification = any ? Classification{core::AnswerClass::transient, std::nullopt}
                           : Classification{core::AnswerClass::not_processed, std::nullopt};
    r.error = any ? "change set answered for its lines but not for the request: outcome unknown"
                  : "not processed: no response part";
    return;
  }
  for (std::size_t k = 0; k < lines.size(); ++k) {
    if (!lines[k]) {
      r.classification = {core::AnswerClass::transient, std::nullopt};
      r.failed_line = k + 1;
      r.error = "line " + std::to_string(k + 1) + ": no response part: outcome unknown";
      return;
    }
  }
  r.classification = classify(input_of(r.part, response), config);
}

}  // namespace

std::vector<RequestResult> classify_whole_batch(const std::vector<std::string>& content_ids,
                                                const ClassifyInput& input, const ResponsePart& part,
                                                const ClassifyConfig& config) {
  const auto c = classify(input, config);
  std::vector<RequestResult> out(content_ids.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].index = i;
    out[i].content_id = content_ids[i];
    out[i].has_part = false;
    out[i].part = part;
    out[i].classification = c;
    out[i].error = input.transport != TransportFailure::none
                       ? std::string(to_string(input.transport))
                       : "batch " + describe(part);
  }
  return out;
}

std::vector<RequestResult> results_for_transport_failure(const EncodedBatch& sent, TransportFailure failure,
                                                         std::string_view detail) {
  ClassifyInput in;
  in.transport = failure == TransportFailure::none ? TransportFailure::protocol_error : failure;
  auto out = classify_whole_batch(sent.content_ids, in, ResponsePart{}, ClassifyConfig{});
  for (auto& r : out) {
    r.error = std::string(to_string(in.transport));
    if (!detail.empty()) r.error += ": " + std::string(detail);
  }
  return out;
}

std::vector<RequestResult> read_batch_response(const EncodedBatch& sent, const BatchHttpResponse& response,
                                               const ClassifyConfig& config) {
  const auto content_type = find_header(response.headers, "Content-Type").value_or("");
  ParsedBatch parsed = parse_batch_response(content_type, response.body);
  const std::size_t n = sent.content_ids.size();

  if (parsed.parts.empty()) {
    // A whole-batch answer: no per-request parts to go by.
    ResponsePart whole;
    whole.status = response.status;
    whole.headers = response.headers;
    whole.body = response.body;
    auto error = parse_error_body(response.body);
    whole.error_code = std::move(error.code);
    whole.error_message = std::move(error.message);
    whole.error_inner_message = std::move(error.inner_message);
    if (auto r = find_header(response.headers, "Retry-After")) whole.retry_after = parse_retry_after(*r);
    ClassifyInput in;
    in.status = response.status;
    in.error_code = whole.error_code;
    in.error_message = whole.error_message;
    in.inner_error_message = whole.error_inner_message;
    in.retry_after = whole.retry_after;
    if (is_2xx(response.status)) {
      // 2xx and no parts: a readable empty batch means nothing was processed; an
      // unreadable body leaves the outcome unknown.
      in.part_present = parsed.is_batch && parsed.error.empty() ? false : true;
      in.status = parsed.is_batch && parsed.error.empty() ? response.status : 0;
    }
    auto out = classify_whole_batch(sent.content_ids, in, whole, config);
    for (auto& r : out) {
      // A conflict for the batch as a whole says nothing about any one record: never
      // count it as created or duplicate (that would mark it imported).
      const auto o = r.classification.outcome;
      if (o == core::AnswerClass::duplicate || o == core::AnswerClass::created) r.classification = {core::AnswerClass::transient, std::nullopt};
    }
    if (is_2xx(response.status)) {
      for (auto& r : out) {
        r.error = r.classification.outcome == core::AnswerClass::not_processed
                      ? "not processed: no response part"
                      : "batch " + std::to_string(response.status) + " with unreadable body: " + parsed.error;
      }
    }
    return out;
  }

  std::vector<RequestResult> out(n);
  std::vector<bool> taken(n, false);
  std::vector<bool> by_id(n, false);
  std::unordered_map<std::string, std::size_t> index_of;
  for (std::size_t i = 0; i < n; ++i) {
    out[i].index = i;
    out[i].content_id = sent.content_ids[i];
    index_of.emplace(sent.content_ids[i], i);
  }
  // Lines: (request, line) of each line id; their answers by request.
  std::unordered_map<std::string, std::pair<std::size_t, std::size_t>> line_of;
  std::vector<std::vector<const ResponsePart*>> line_parts(n);
  for (std::size_t i = 0; i < n && i < sent.line_ids.size(); ++i) {
    line_parts[i].assign(sent.line_ids[i].size(), nullptr);
    for (std::size_t k = 0; k < sent.line_ids[i].size(); ++k) line_of.emplace(sent.line_ids[i][k], std::pair{i, k});
  }
  // An answer is credited only to the request it names. Position matching is kept only for
  // a body that carries no ids at all (Dataverse outside change sets), and only when the
  // part count equals the request count, or when fewer parts show the stop-at-first-error
  // shape (the last part failed). Anything else is a protocol anomaly: the parts that do
  // not name their own request are ignored, and their requests stay not_processed.
  // Dataverse echoes ids only inside change sets, so "the server sends ids" means a part
  // outside a change set carries one.
  bool ids_outside = false;
  std::vector<std::size_t> idless;
  for (std::size_t p = 0; p < parsed.parts.size(); ++p) {
    const auto& part = parsed.parts[p];
    if (part.content_id.empty()) {
      idless.push_back(p);
      continue;
    }
    ids_outside = ids_outside || !part.in_change_set;
    if (auto l = line_of.find(part.content_id); l != line_of.end()) {
      auto& slot = line_parts[l->second.first][l->second.second];
      if (!slot) slot = &part;
      continue;
    }
    auto it = index_of.find(part.content_id);
    if (it == index_of.end() || taken[it->second]) continue;  // unknown or repeated id: ignored
    taken[it->second] = true;
    by_id[it->second] = true;
    out[it->second].has_part = true;
    out[it->second].part = part;
  }
  // A request whose change set answered for a line only (the failed change set's single
  // response naming the line) is not open for position matching.
  auto any_line_part = [&](std::size_t i) {
    for (const auto* p : line_parts[i])
      if (p) return true;
    return false;
  };
  std::vector<std::size_t> open;
  for (std::size_t i = 0; i < n; ++i)
    if (!taken[i] && !any_line_part(i)) open.push_back(i);
  if (!ids_outside && !idless.empty()) {
    const std::size_t m = idless.size();
    const bool stopped_at_failure =
        m < open.size() && !is_2xx(parsed.parts[idless.back()].status) && parsed.error.empty();
    if (m == open.size() || stopped_at_failure) {
      for (std::size_t k = 0; k < m; ++k) {
        taken[open[k]] = true;
        out[open[k]].has_part = true;
        out[open[k]].part = parsed.parts[idless[k]];
      }
    }
  }

  // Atomic: one failure rolls the whole change set back.
  const ResponsePart* failure = nullptr;
  if (sent.atomic) {
    for (const auto& part : parsed.parts) {
      if (!is_2xx(part.status)) {
        failure = &part;
        break;
      }
    }
  }

  for (auto& r : out) {
    const bool has_lines = r.index < sent.line_ids.size() && !sent.line_ids[r.index].empty();
    if (has_lines) {
      RequestResult folded = r;
      fold_change_set(folded, line_parts[r.index], response, config);
      // Atomic batch: the invoice's own failure (header by id, or a line) names it; else
      // it was rolled back with the rest (below).
      const bool own_failure = folded.has_part && !is_2xx(folded.part.status) &&
                               (folded.failed_line > 0 || by_id[r.index]);
      if (!failure || own_failure) {
        r = std::move(folded);
        continue;
      }
    }
    if (failure && !(r.has_part && by_id[r.index] && !is_2xx(r.part.status))) {
      r.classification = Classification{core::AnswerClass::transient, std::nullopt};
      r.error = "rolled back: change set failed with " + describe(*failure);
      continue;
    }
    ClassifyInput in = input_of(r.part, response);
    in.part_present = r.has_part;
    r.classification = classify(in, config);
    if (!r.has_part) {
      r.error = "not processed: no response part";
    } else if (!is_2xx(r.part.status)) {
      r.error = describe(r.part);
    }
  }
  return out;
}

}  // namespace ib::odata
