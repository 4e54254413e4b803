#include "inspection_api.hpp"

#include "router.hpp"

#include <boost/json.hpp>

#include <exception>

namespace ib::sim {

namespace json = boost::json;

namespace {

const std::string kOk = R"({"ok":true})";

}  // namespace

Response inspection_response(Router& router, std::string_view what, const RequestView& req) {
  try {
    if (what == "stats" && req.method == "GET") return json_response(200, router.stats_json());
    if (what == "records" && req.method == "GET") return json_response(200, router.records_json());
    if (what == "records" && req.method == "PUT") {
      router.load_records_json(std::string(req.body));
      return json_response(200, kOk);
    }
    if (what == "reset" && req.method == "POST") {
      router.reset();
      return json_response(200, kOk);
    }
    if (what == "faults" && req.method == "GET") return json_response(200, to_json(router.faults()));
    if (what == "faults" && req.method == "PUT") {
      router.set_faults(parse_faults(req.body, router.faults()));
      return json_response(200, to_json(router.faults()));
    }
    if (what == "limits" && req.method == "GET") return json_response(200, to_json(router.limits()));
    if (what == "limits" && req.method == "PUT") {
      router.set_limits(parse_limits(req.body, router.limits()));
      return json_response(200, to_json(router.limits()));
    }
    if (what == "tokens/expire" && req.method == "POST") {
      router.expire_tokens();
      return json_response(200, kOk);
    }
    return error_response(ErrorStyle::Dataverse, 404, "", "Unknown simulator endpoint; see docs/simulator.md");
  } catch (const std::exception& e) {
    return error_response(ErrorStyle::Dataverse, 400, "", e.what());
  }
}

std::string stats_to_json(const SimStats& st, const std::map<int, std::uint64_t>& ops) {
  auto int_map = [](const auto& m) {
    json::object o;
    for (const auto& [k, v] : m) o[std::to_string(k)] = v;
    return o;
  };
  json::array more;
  for (const auto& k : st.keys_created_more_than_once) more.push_back(json::string(k));
  json::object o{{"requests", st.requests},
                 {"requests_by_status", int_map(st.requests_by_status)},
                 {"operations", st.operations},
                 {"batch_operations_by_status", int_map(ops)},
                 {"creates", st.creates},
                 {"updates", st.updates},
                 {"deletes", st.deletes},
                 {"duplicate_rejections", st.duplicate_rejections},
                 {"batches", st.batches},
                 {"batch_sizes", int_map(st.batch_sizes)},
                 {"rolled_back_change_sets", st.rolled_back_change_sets},
                 {"throttled", st.throttled},
                 {"max_concurrent_requests", st.max_concurrent_requests},
                 {"injected_errors", st.injected_errors},
                 {"injected_resets", st.injected_resets},
                 {"applied_then_failed", st.applied_then_failed},
                 {"slow_responses", st.slow_responses},
                 {"unauthorized", st.unauthorized},
                 {"creates_per_key_histogram", int_map(st.creates_per_key_histogram)},
                 {"keys_created_more_than_once", std::move(more)},
                 {"records", st.records},
                 {"bulk_messages", st.bulk_messages},
                 {"bulk_rolled_back", st.bulk_rolled_back},
                 {"execution_ms", st.execution_ms}};
  return json::serialize(o);
}

}  // namespace ib::sim
