#include "kafka/mock_cluster.hpp"

#include "rdkafka_log.hpp"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stdexcept>
#include <vector>

namespace ib::kafka {

struct MockCluster::Impl {
  // The mock cluster lives inside a (never used) producer handle; destroy the cluster first.
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> carrier{nullptr, &rd_kafka_destroy};
  std::unique_ptr<rd_kafka_mock_cluster_t, decltype(&rd_kafka_mock_cluster_destroy)> cluster{
      nullptr, &rd_kafka_mock_cluster_destroy};
};

MockCluster::MockCluster(int brokers) : impl_(std::make_unique<Impl>()) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  detail::route_logs(conf);
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  impl_->carrier.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
  if (!impl_->carrier) {
    throw std::runtime_error(std::string("MockCluster: cannot create carrier handle: ") + err);
  }
  impl_->cluster.reset(rd_kafka_mock_cluster_new(impl_->carrier.get(), brokers));
  if (!impl_->cluster) throw std::runtime_error("MockCluster: rd_kafka_mock_cluster_new failed");
}

MockCluster::~MockCluster() {
  impl_->cluster.reset();
  impl_->carrier.reset();
}

std::string MockCluster::bootstrap_servers() const {
  return rd_kafka_mock_cluster_bootstraps(impl_->cluster.get());
}

void MockCluster::create_topic(const std::string& topic, int partitions) {
  const auto err = rd_kafka_mock_topic_create(impl_->cluster.get(), topic.c_str(), partitions, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("MockCluster: cannot create topic " + topic + ": " +
                             rd_kafka_err2str(err));
  }
}

void MockCluster::push_request_errors(std::int16_t api_key, int count, int error) {
  std::vector<rd_kafka_resp_err_t> errors(static_cast<std::size_t>(count),
                                          static_cast<rd_kafka_resp_err_t>(error));
  rd_kafka_mock_push_request_errors_array(impl_->cluster.get(), api_key, errors.size(),
                                          errors.data());
}

void MockCluster::set_broker_down(int broker_id) {
  rd_kafka_mock_broker_set_down(impl_->cluster.get(), broker_id);
}

void MockCluster::set_broker_up(int broker_id) {
  rd_kafka_mock_broker_set_up(impl_->cluster.get(), broker_id);
}

}  // namespace ib::kafka
