#include "kafka/admin.hpp"

#include "rdkafka_log.hpp"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <thread>

#include <memory>
#include <stdexcept>

namespace ib::kafka {
namespace {

using HandlePtr = std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, decltype(&rd_kafka_queue_destroy)>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)>;
using NewTopicPtr = std::unique_ptr<rd_kafka_NewTopic_t, decltype(&rd_kafka_NewTopic_destroy)>;
using OptionsPtr =
    std::unique_ptr<rd_kafka_AdminOptions_t, decltype(&rd_kafka_AdminOptions_destroy)>;
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)>;

}  // namespace

void throw_exception_from_error(const AdminError& e, const boost::source_location&) {
  throw std::runtime_error(e.message);
}

std::vector<std::string> validate(const TopicSpec& spec) {
  std::vector<std::string> p;
  if (spec.name.empty()) p.push_back("topic name is empty");
  if (spec.partitions < 1) p.push_back("topic " + spec.name + ": partitions must be >= 1");
  if (spec.replication_factor < 1) {
    p.push_back("topic " + spec.name + ": replication_factor must be >= 1");
  }
  return p;
}

boost::system::result<void, AdminError> ensure_topics(const Properties& properties,
                                                      const std::vector<TopicSpec>& topics,
                                                      std::chrono::milliseconds timeout) {
  std::string problems;
  auto add = [&](const std::string& p) {
    if (!problems.empty()) problems += "; ";
    problems += p;
  };
  for (const auto& t : topics) {
    for (const auto& p : validate(t)) add(p);
  }
  if (!problems.empty()) return AdminError{problems};
  if (topics.empty()) return {};

  char err[512];
  ConfPtr conf(rd_kafka_conf_new(), &rd_kafka_conf_destroy);
  detail::route_logs(conf.get());
  for (const auto& [k, v] : properties) {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
      return AdminError{"kafka admin property " + k + ": " + err};
    }
  }
  // rd_kafka_new takes the conf only on success.
  HandlePtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err), &rd_kafka_destroy);
  if (!rk) return AdminError{std::string("kafka admin client: ") + err};
  conf.release();

  std::vector<NewTopicPtr> owned;
  std::vector<rd_kafka_NewTopic_t*> raw;
  for (const auto& t : topics) {
    owned.emplace_back(rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, t.replication_factor,
                                             err, sizeof err),
                       &rd_kafka_NewTopic_destroy);
    if (!owned.back()) return AdminError{"topic " + t.name + ": " + err};
    for (const auto& [k, v] : t.configs) {
      if (rd_kafka_NewTopic_set_config(owned.back().get(), k.c_str(), v.c_str()) !=
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        return AdminError{"topic " + t.name + ": bad config " + k};
      }
    }
    raw.push_back(owned.back().get());
  }
  OptionsPtr options(rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS),
                     &rd_kafka_AdminOptions_destroy);
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), static_cast<int>(timeout.count()),
                                              err, sizeof err);
  rd_kafka_AdminOptions_set_request_timeout(options.get(), static_cast<int>(timeout.count()), err,
                                            sizeof err);
  QueuePtr queue(rd_kafka_queue_new(rk.get()), &rd_kafka_queue_destroy);
  rd_kafka_CreateTopics(rk.get(), raw.data(), raw.size(), options.get(), queue.get());

  // The request timeout bounds the wait; add a margin for the local queue hop.
  EventPtr event(rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count()) + 1000),
                 &rd_kafka_event_destroy);
  if (!event) return AdminError{"create topics: no answer in time"};
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return AdminError{std::string("create topics: ") + rd_kafka_event_error_string(event.get())};
  }
  const auto* result = rd_kafka_event_CreateTopics_result(event.get());
  if (result == nullptr) return AdminError{"create topics: unexpected answer"};
  std::size_t count = 0;
  const auto* const* results = rd_kafka_CreateTopics_result_topics(result, &count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto code = rd_kafka_topic_result_error(results[i]);
    if (code == RD_KAFKA_RESP_ERR_NO_ERROR || code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      continue;
    }
    const char* msg = rd_kafka_topic_result_error_string(results[i]);
    add(std::string("topic ") + rd_kafka_topic_result_name(results[i]) + ": " +
        (msg != nullptr ? msg : rd_kafka_err2str(code)));
  }
  if (!problems.empty()) return AdminError{problems};

  // CreateTopics answers before every partition has a leader. A consumer that subscribes
  // in that window can leave a partition unfetched (seen with librdkafka 2.0.2: the first
  // message of one new retry partition was never delivered), so wait for the leaders.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool ready = true;
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk.get(), 1, nullptr, &md, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ready = false;
    } else {
      for (const auto& t : topics) {
        bool found = false;
        for (int i = 0; i < md->topic_cnt; ++i) {
          const auto& mt = md->topics[i];
          if (t.name != mt.topic) continue;
          found = mt.err == RD_KAFKA_RESP_ERR_NO_ERROR && mt.partition_cnt > 0;
          for (int p = 0; found && p < mt.partition_cnt; ++p) {
            found = mt.partitions[p].err == RD_KAFKA_RESP_ERR_NO_ERROR && mt.partitions[p].leader >= 0;
          }
        }
        ready = ready && found;
      }
      rd_kafka_metadata_destroy(md);
    }
    if (ready) return {};
    if (std::chrono::steady_clock::now() >= deadline) {
      return AdminError{"topics created, but not every partition has a leader yet"};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

boost::system::result<std::optional<TopicDescription>, AdminError> describe_topic(
    const Properties& properties, const std::string& topic, std::chrono::milliseconds timeout) {
  char err[512];
  ConfPtr conf(rd_kafka_conf_new(), &rd_kafka_conf_destroy);
  detail::route_logs(conf.get());
  for (const auto& [k, v] : properties) {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return AdminError{"kafka admin property " + k + ": " + err};
    }
  }
  HandlePtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err), &rd_kafka_destroy);
  if (!rk) return AdminError{std::string("kafka admin client: ") + err};
  conf.release();
  const int ms = static_cast<int>(timeout.count());

  TopicDescription out;
  {
    // All topics' metadata: asking for this one would make a broker with
    // auto.create.topics.enable create it, with the broker's defaults.
    const rd_kafka_metadata_t* md = nullptr;
    const auto e = rd_kafka_metadata(rk.get(), 1, nullptr, &md, ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return AdminError{"cannot read the metadata of topic " + topic + ": " + rd_kafka_err2str(e)};
    }
    auto terr = RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    int count = 0;
    for (int i = 0; i < md->topic_cnt; ++i) {
      if (topic != md->topics[i].topic) continue;
      terr = md->topics[i].err;
      count = md->topics[i].partition_cnt;
    }
    rd_kafka_metadata_destroy(md);
    if (terr == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || terr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      return std::optional<TopicDescription>();
    }
    if (terr != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return AdminError{"topic " + topic + ": " + rd_kafka_err2str(terr)};
    }
    out.partitions = count;
  }

  using ResourcePtr = std::unique_ptr<rd_kafka_ConfigResource_t, decltype(&rd_kafka_ConfigResource_destroy)>;
  ResourcePtr resource(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()),
                       &rd_kafka_ConfigResource_destroy);
  OptionsPtr options(rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS),
                     &rd_kafka_AdminOptions_destroy);
  rd_kafka_AdminOptions_set_request_timeout(options.get(), ms, err, sizeof err);
  QueuePtr queue(rd_kafka_queue_new(rk.get()), &rd_kafka_queue_destroy);
  rd_kafka_ConfigResource_t* raw = resource.get();
  rd_kafka_DescribeConfigs(rk.get(), &raw, 1, options.get(), queue.get());
  EventPtr event(rd_kafka_queue_poll(queue.get(), ms + 1000), &rd_kafka_event_destroy);
  if (!event) return AdminError{"describe topic " + topic + ": timed out"};
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return AdminError{"describe topic " + topic + ": " + rd_kafka_event_error_string(event.get())};
  }
  const auto* result = rd_kafka_event_DescribeConfigs_result(event.get());
  size_t count = 0;
  const rd_kafka_ConfigResource_t** resources = rd_kafka_DescribeConfigs_result_resources(result, &count);
  for (size_t i = 0; i < count; ++i) {
    if (const auto e = rd_kafka_ConfigResource_error(resources[i]); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* msg = rd_kafka_ConfigResource_error_string(resources[i]);
      return AdminError{"describe topic " + topic + ": " + (msg != nullptr ? msg : rd_kafka_err2str(e))};
    }
    size_t n = 0;
    const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(resources[i], &n);
    for (size_t j = 0; j < n; ++j) {
      const char* value = rd_kafka_ConfigEntry_value(entries[j]);
      out.configs[rd_kafka_ConfigEntry_name(entries[j])] = value != nullptr ? value : "";
    }
  }
  return std::optional<TopicDescription>(std::move(out));
}

}  // namespace ib::kafka
