#include "kafka/error.hpp"

#include <librdkafka/rdkafka.h>

#include <string>

namespace ib::kafka {
namespace {

static_assert(errc::kState == RD_KAFKA_RESP_ERR__STATE);
static_assert(errc::kTimedOut == RD_KAFKA_RESP_ERR__TIMED_OUT);
static_assert(errc::kQueueFull == RD_KAFKA_RESP_ERR__QUEUE_FULL);
static_assert(errc::kDestroy == RD_KAFKA_RESP_ERR__DESTROY);
static_assert(errc::kPurgeQueue == RD_KAFKA_RESP_ERR__PURGE_QUEUE);
static_assert(errc::kMsgTimedOut == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);

class Category final : public boost::system::error_category {
public:
  const char* name() const noexcept override { return "kafka"; }
  std::string message(int ev) const override {
    return rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(ev));
  }
};

}  // namespace

const boost::system::error_category& error_category() {
  static const Category category;
  return category;
}

boost::system::error_code make_error_code(int rdkafka_error) {
  return {rdkafka_error, error_category()};
}

}  // namespace ib::kafka
