#include "tools/import_command.hpp"

#include "json_output.hpp"

#include <boost/json/object.hpp>

namespace ib::tools {

std::string ImportReject::to_json() const {
  boost::json::object o;
  o["line"] = line;
  o["reason"] = reason;
  o["status"] = status;
  json_output::put_text(o, "error", error);
  // The line's own text when it is JSON; else a string (+ invoice_base64 when not UTF-8).
  return json_output::serialize_with_json(std::move(o), "invoice", invoice);
}

}  // namespace ib::tools
