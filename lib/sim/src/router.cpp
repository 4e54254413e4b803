#include "router.hpp"

#include "inspection_api.hpp"
#include "text.hpp"

#include <map>
#include <optional>
#include <utility>
#include <stdexcept>

namespace ib::sim {

namespace {

struct BulkAction {
  std::string_view entity_set;  // empty: not a bulk action
  bool upsert = false;
};

// `<EntitySet>/Microsoft.Dynamics.CRM.CreateMultiple` or `.../UpsertMultiple`.
BulkAction bulk_action(std::string_view rel) {
  const auto slash = rel.find('/');
  if (slash == std::string_view::npos || slash == 0) return {};
  const auto action = rel.substr(slash + 1);
  if (action == "Microsoft.Dynamics.CRM.CreateMultiple") return {rel.substr(0, slash), false};
  if (action == "Microsoft.Dynamics.CRM.UpsertMultiple") return {rel.substr(0, slash), true};
  return {};
}

// `options` when valid; throws std::invalid_argument naming every problem otherwise.
SimOptions checked(SimOptions options) {
  const auto problems = validate(options);
  if (problems.empty()) return options;
  std::string msg = "simulator options have problems:";
  for (const auto& p : problems) msg += "\n  - " + p;
  throw std::invalid_argument(msg);
}

}  // namespace

Router::Router(SimOptions options)
    : opt_(checked(std::move(options))),
      random_(opt_.seed),
      store_(opt_, random_, st_),
      tokens_(opt_.auth, opt_.error_style, random_, st_),
      faults_(opt_.faults, opt_.error_style, random_, st_),
      limits_(opt_.limits, opt_.error_style, st_),
      batch_(opt_, store_, faults_, limits_, random_, st_) {
  if (!opt_.records_file.empty()) {
    const auto text = read_text_file(opt_.records_file);
    if (!text) throw std::runtime_error("simulator: cannot read records_file " + opt_.records_file);
    store_.load_records_json(*text);
  }
}

const SimOptions& Router::options() const { return opt_; }

void Router::set_port(std::uint16_t port) {
  std::lock_guard lock(mu_);
  port_ = port;
}

std::string Router::base_url() const {
  std::lock_guard lock(mu_);
  return (opt_.tls.cert_file.empty() ? "http://" : "https://") + opt_.listen_address + ":" +
         std::to_string(port_);
}

std::string Router::base_from_host(const RequestView& req) const {
  if (!opt_.public_base_url.empty()) return opt_.public_base_url;
  auto host = find_header(req.headers, "Host");
  return std::string(req.scheme) + "://" +
         (host ? std::string(*host) : "127.0.0.1:" + std::to_string(port_));
}

bool Router::handle_control(const RequestView& req, Response& out) {
  const auto path = req.target.substr(0, req.target.find('?'));
  const std::string_view token_suffix = "/oauth2/v2.0/token";
  if (path.size() > token_suffix.size() && path.substr(path.size() - token_suffix.size()) == token_suffix &&
      path.substr(1).find('/') == path.size() - token_suffix.size() - 1) {
    std::lock_guard lock(mu_);
    // The token endpoint is Entra ID's, whatever the service's error style.
    out = req.method == "POST" ? tokens_.issue(req.body)
                               : error_response(ErrorStyle::Dataverse, 405, "", "The token endpoint accepts POST only.");
    return true;
  }
  if (path.substr(0, 6) != "/_sim/") return false;
  // Not under the lock: the inspection API calls the public members, which take it.
  out = inspection_response(*this, path.substr(6), req);
  return true;
}

Admission Router::admit(const RequestView& req) {
  std::lock_guard lock(mu_);
  Admission a;
  ++st_.requests;
  if (faults_.reset_connection()) {
    a.kind = Admission::Kind::Reset;
    return a;
  }
  if (auto r = faults_.request_error()) {
    a.kind = Admission::Kind::Respond;
    a.response = std::move(*r);
    return a;
  }
  const auto host_base = base_from_host(req);
  store_.set_service_base(host_base + opt_.service_root);
  if (auto r = tokens_.check(req.headers, host_base)) {
    a.kind = Admission::Kind::Respond;
    a.response = std::move(*r);
    return a;
  }
  if (auto r = limits_.admit(ServiceLimits::Clock::now())) {
    a.kind = Admission::Kind::Respond;
    a.response = std::move(*r);
    return a;
  }
  a.latency_ms = faults_.request_latency_ms();
  return a;
}

Outcome Router::process(const RequestView& req) {
  std::lock_guard lock(mu_);
  store_.set_service_base(base_from_host(req) + opt_.service_root);
  Outcome out;
  std::string_view rel, query;
  if (!resolve_target(opt_.service_root, req.target, rel, query)) {
    out.response = error_response(opt_.error_style, 404, "0x80060888", "Resource not found for the segment '" + std::string(req.target) + "'.");
  } else if (rel == "$batch") {
    out = batch_.handle(req);
  } else if (const auto bulk = bulk_action(rel); !bulk.entity_set.empty()) {
    if (req.method != "POST") {
      out.response = error_response(opt_.error_style, 405, "0x80060888", "Bound actions accept POST only.");
    } else {
      std::size_t processed = 0;
      out.response = store_.execute_bulk(bulk.entity_set, bulk.upsert, req.body, processed);
      limits_.charge_bulk(processed);
    }
  } else {
    limits_.charge(1, false);
    out.response = store_.execute(req.method, rel, query, req.headers, req.body);
  }
  faults_.applied_then_failed(req.method, out);
  faults_.slow_response(out);
  limits_.add_headers(out.response);
  return out;
}

void Router::release() {
  std::lock_guard lock(mu_);
  limits_.release();
}

void Router::count_response(int status) {
  std::lock_guard lock(mu_);
  ++st_.requests_by_status[status];
}

SimStats Router::stats() const {
  std::lock_guard lock(mu_);
  SimStats st = st_;
  store_.fill_key_stats(st);
  return st;
}

std::string Router::stats_json() const {
  const auto st = stats();
  std::map<int, std::uint64_t> ops;
  {
    std::lock_guard lock(mu_);
    ops = batch_.operations_by_status();
  }
  return stats_to_json(st, ops);
}

std::vector<SimRecord> Router::records() const {
  std::lock_guard lock(mu_);
  return store_.records();
}

std::string Router::records_json() const {
  std::lock_guard lock(mu_);
  return store_.records_json();
}

void Router::load_records_json(const std::string& text) {
  std::lock_guard lock(mu_);
  store_.load_records_json(text);
}

FaultOptions Router::faults() const {
  std::lock_guard lock(mu_);
  return opt_.faults;
}

void Router::set_faults(const FaultOptions& f) {
  std::lock_guard lock(mu_);
  if (f.error_statuses.empty()) throw std::invalid_argument("faults: error_statuses must not be empty");
  opt_.faults = f;
}

LimitOptions Router::limits() const {
  std::lock_guard lock(mu_);
  return opt_.limits;
}

void Router::set_limits(const LimitOptions& l) {
  std::lock_guard lock(mu_);
  opt_.limits = l;
  limits_.restart();
}

void Router::reset() {
  std::lock_guard lock(mu_);
  store_.clear();
  st_ = SimStats{};
  batch_.clear_counts();
  limits_.restart();
  tokens_.clear();
}

void Router::expire_tokens() {
  std::lock_guard lock(mu_);
  tokens_.expire_all();
}

}  // namespace ib::sim
