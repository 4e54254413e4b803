#include "kafka/topic_reader.hpp"

#include "rdkafka_log.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

namespace ib::kafka {

namespace {

using Clock = std::chrono::steady_clock;

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
  void operator()(const rd_kafka_metadata_t* md) const { rd_kafka_metadata_destroy(md); }
};
template <typename T>
using Handle = std::unique_ptr<T, KafkaDeleter>;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<std::int64_t>(left.count(), 1));
}

Message copy_out(const rd_kafka_message_t& m, const std::string& topic) {
  Message out;
  out.topic = topic;
  out.partition = m.partition;
  out.offset = m.offset;
  if (m.key) {
    out.key.assign(static_cast<const char*>(m.key), m.key_len);
    out.has_key = true;
  }
  if (m.payload) out.value.assign(static_cast<const char*>(m.payload), m.len);
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR && headers) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      out.headers.emplace_back(name, value ? std::string(static_cast<const char*>(value), size)
                                           : std::string());
    }
  }
  rd_kafka_timestamp_type_t type{};
  out.timestamp_ms = rd_kafka_message_timestamp(&m, &type);
  return out;
}

// Errors a healthy cluster answers for a moment: a partition just created or whose leader
// moves has no leader yet, a broker restarts. Anything else (authorization...) is final.
bool transient_offsets_error(rd_kafka_resp_err_t e) {
  switch (e) {
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
    case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
      return true;
    default:
      return false;
  }
}

// The low and high watermarks of one partition. Transient errors are asked again, with a
// growing pause, until `deadline`; the error returned is the last one seen.
rd_kafka_resp_err_t query_watermarks(rd_kafka_t* rk, const std::string& topic, std::int32_t partition,
                                     std::int64_t& low, std::int64_t& high, Clock::time_point deadline) {
  auto pause = std::chrono::milliseconds(50);
  for (;;) {
    const auto e =
        rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &low, &high, remaining_ms(deadline));
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || !transient_offsets_error(e) || Clock::now() + pause >= deadline) {
      return e;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(1000));
  }
}

// A consumer client that never joins `group` (only addresses its coordinator) and commits
// nothing; its errors are the caller's to report (log_level 2).
boost::system::result<Handle<rd_kafka_t>, TopicReadError> non_member_client(Properties props,
                                                                         const std::string& group) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  detail::route_logs(conf);
  props.emplace("log_level", "2");
  props["group.id"] = group;
  props["enable.auto.commit"] = "false";
  props["enable.auto.offset.store"] = "false";
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return TopicReadError{"kafka property " + k + ": " + err};
    }
  }
  Handle<rd_kafka_t> rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err));
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return TopicReadError{std::string("cannot create a Kafka client: ") + err};
  }
  return rk;
}

// A manual-assignment consumer: no join, no rebalance, no commit.
boost::system::result<Handle<rd_kafka_t>, TopicReadError> assign_mode_client(const TopicReadOptions& options,
                                                                          const std::string& group) {
  auto props = options.properties;
  props["enable.partition.eof"] = "true";
  props["auto.offset.reset"] = "earliest";
  props["allow.auto.create.topics"] = "false";
  auto rk = non_member_client(std::move(props), group);
  if (!rk) return rk.error();
  rd_kafka_poll_set_consumer(rk->get());
  return rk;
}

// The metadata of one topic, checked: exactly that topic, without an error.
boost::system::result<Handle<const rd_kafka_metadata_t>, TopicReadError> topic_metadata(
    rd_kafka_t* rk, const std::string& topic, Clock::time_point deadline) {
  Handle<rd_kafka_topic_t> rkt(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
  const rd_kafka_metadata_t* raw_md = nullptr;
  const auto md_err = rd_kafka_metadata(rk, 0, rkt.get(), &raw_md, remaining_ms(deadline));
  Handle<const rd_kafka_metadata_t> md(raw_md);
  if (md_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return TopicReadError{"cannot read the metadata of topic " + topic + ": " + rd_kafka_err2str(md_err)};
  }
  if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const auto e = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    return TopicReadError{"topic " + topic + " cannot be read: " + rd_kafka_err2str(e)};
  }
  return md;
}

boost::system::result<int, TopicReadError> partition_count(rd_kafka_t* rk, const std::string& topic,
                                                           Clock::time_point deadline) {
  auto md = topic_metadata(rk, topic, deadline);
  if (!md) return md.error();
  return (*md)->topics[0].partition_cnt;
}


}  // namespace

void throw_exception_from_error(const TopicReadError& e, const boost::source_location&) {
  throw std::runtime_error(e.message);
}

boost::system::result<std::vector<Message>, TopicReadError> read_topic_snapshot(
    const std::string& topic, const TopicReadOptions& options) {
  const auto deadline = Clock::now() + options.timeout;
  // The partitions are assigned by hand: no join, no rebalance, no offset fetch (explicit
  // start offsets) and no commit.
  auto client = assign_mode_client(options, "invoice-bridge-tools-reader");
  if (!client) return client.error();
  Handle<rd_kafka_t> rk = std::move(*client);
  auto metadata = topic_metadata(rk.get(), topic, deadline);
  if (!metadata) return metadata.error();
  const auto& md = *metadata;

  // The end of each partition now; the read stops there.
  std::map<std::int32_t, std::int64_t> ends;  // partitions still to read -> high watermark
  Handle<rd_kafka_topic_partition_list_t> assignment(rd_kafka_topic_partition_list_new(8));
  for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
    const std::int32_t p = md->topics[0].partitions[i].id;
    std::int64_t low = 0, high = 0;
    const auto e = query_watermarks(rk.get(), topic, p, low, high, deadline);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return TopicReadError{"cannot read the offsets of " + topic + " partition " +
                            std::to_string(p) + ": " + rd_kafka_err2str(e)};
    }
    if (high <= low) continue;
    ends[p] = high;
    rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), p)->offset = low;
  }
  std::vector<Message> out;
  if (ends.empty()) return out;
  if (const auto e = rd_kafka_assign(rk.get(), assignment.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return TopicReadError{"cannot assign the partitions of " + topic + ": " + rd_kafka_err2str(e)};
  }

  std::map<std::int32_t, std::vector<Message>> by_partition;
  std::string last_error;
  while (!ends.empty() && Clock::now() < deadline) {
    Handle<rd_kafka_message_t> m(rd_kafka_consumer_poll(rk.get(), std::min(remaining_ms(deadline), 200)));
    if (!m) continue;
    const auto it = ends.find(m->partition);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // The offset of an EOF event is the next offset to fetch.
      if (it != ends.end() && m->offset >= it->second) ends.erase(it);
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      last_error = rd_kafka_message_errstr(m.get());
      continue;  // transient (broker down, coordinator...): librdkafka keeps trying
    }
    if (it == ends.end() || m->offset >= it->second) continue;
    by_partition[m->partition].push_back(copy_out(*m, topic));
    if (m->offset + 1 >= it->second) ends.erase(it);
  }
  rd_kafka_assign(rk.get(), nullptr);
  rd_kafka_consumer_close(rk.get());
  if (!ends.empty()) {
    std::string msg = "timed out reading topic " + topic + " (partition " +
                      std::to_string(ends.begin()->first) + " not read to its end)";
    if (!last_error.empty()) msg += ": " + last_error;
    return TopicReadError{msg};
  }
  for (auto& [p, messages] : by_partition) {
    for (auto& m : messages) out.push_back(std::move(m));
  }
  return out;
}


boost::system::result<int, TopicReadError> topic_partition_count(const std::string& topic,
                                                                 const TopicReadOptions& options) {
  auto rk = assign_mode_client(options, "invoice-bridge-tools-reader");
  if (!rk) return rk.error();
  return partition_count(rk->get(), topic, Clock::now() + options.timeout);
}

boost::system::result<PartitionRange, TopicReadError> read_partition(
    const std::string& topic, std::int32_t partition, std::optional<std::int64_t> from,
    const TopicReadOptions& options, std::size_t chunk,
    const std::function<void(const PartitionRange&)>& on_start,
    const std::function<bool(std::vector<Message>& messages, std::int64_t next_offset)>& on_chunk,
    const std::atomic<bool>* cancel) {
  auto deadline = Clock::now() + options.timeout;
  auto client = assign_mode_client(options, "invoice-bridge-changelog-restore");
  if (!client) return client.error();
  rd_kafka_t* rk = client->get();
  auto count = partition_count(rk, topic, deadline);
  if (!count) return count.error();
  if (partition < 0 || partition >= *count) {
    return TopicReadError{"topic " + topic + " has no partition " + std::to_string(partition) + " (it has " +
                          std::to_string(*count) + ")"};
  }
  std::int64_t low = 0, high = 0;
  if (const auto e = query_watermarks(rk, topic, partition, low, high, deadline);
      e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return TopicReadError{"cannot read the offsets of " + topic + " partition " + std::to_string(partition) +
                          ": " + rd_kafka_err2str(e)};
  }
  PartitionRange range{std::max(from.value_or(low), low), high};
  range.from = std::min(range.from, high);
  if (on_start) on_start(range);
  std::vector<Message> batch;
  if (range.from >= range.to) {
    on_chunk(batch, range.to);
    return range;
  }
  Handle<rd_kafka_topic_partition_list_t> assignment(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), partition)->offset = range.from;
  if (const auto e = rd_kafka_assign(rk, assignment.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return TopicReadError{"cannot assign " + topic + " partition " + std::to_string(partition) + ": " +
                          rd_kafka_err2str(e)};
  }
  auto stop = [&] {
    rd_kafka_assign(rk, nullptr);
    rd_kafka_consumer_close(rk);
  };
  std::string last_error;
  std::int64_t next = range.from;
  bool done = false;
  deadline = Clock::now() + options.timeout;
  while (!done) {
    if (cancel != nullptr && cancel->load()) {
      stop();
      return TopicReadError{"cancelled"};
    }
    if (Clock::now() >= deadline) {
      stop();
      std::string msg = "timed out reading " + topic + " partition " + std::to_string(partition) + " at offset " +
                        std::to_string(next) + " (end " + std::to_string(range.to) + ")";
      if (!last_error.empty()) msg += ": " + last_error;
      return TopicReadError{msg};
    }
    Handle<rd_kafka_message_t> m(rd_kafka_consumer_poll(rk, std::min(remaining_ms(deadline), 200)));
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // The offset of an EOF event is the next offset to fetch.
      if (m->offset >= range.to) done = true;
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      last_error = rd_kafka_message_errstr(m.get());
      continue;  // transient: librdkafka keeps trying
    }
    deadline = Clock::now() + options.timeout;
    if (m->offset < next || m->offset >= range.to) continue;
    batch.push_back(copy_out(*m, topic));
    next = m->offset + 1;
    if (next >= range.to) done = true;
    if (done || batch.size() >= chunk) {
      if (!on_chunk(batch, done ? range.to : next)) {
        stop();
        return TopicReadError{"stopped by the caller"};
      }
      batch.clear();
    }
  }
  if (!batch.empty() || next < range.to) {
    if (!on_chunk(batch, range.to)) {
      stop();
      return TopicReadError{"stopped by the caller"};
    }
  }
  stop();
  return range;
}

boost::system::result<std::vector<GroupPartitionOffsets>, TopicReadError> read_group_offsets(
    const std::string& topic, const std::string& group, const TopicReadOptions& options) {
  const auto deadline = Clock::now() + options.timeout;
  auto client = non_member_client(options.properties, group);
  if (!client) return client.error();
  Handle<rd_kafka_t> rk = std::move(*client);
  auto metadata = topic_metadata(rk.get(), topic, deadline);
  if (!metadata) return metadata.error();
  const auto& md = *metadata;
  std::vector<GroupPartitionOffsets> out;
  Handle<rd_kafka_topic_partition_list_t> list(rd_kafka_topic_partition_list_new(8));
  for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
    GroupPartitionOffsets p;
    p.partition = md->topics[0].partitions[i].id;
    std::int64_t low = 0;
    const auto e = query_watermarks(rk.get(), topic, p.partition, low, p.end, deadline);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return TopicReadError{"cannot read the offsets of " + topic + " partition " +
                            std::to_string(p.partition) + ": " + rd_kafka_err2str(e)};
    }
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p.partition);
    out.push_back(p);
  }
  if (const auto e = rd_kafka_committed(rk.get(), list.get(), remaining_ms(deadline));
      e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return TopicReadError{"cannot read the committed offsets of group " + group + ": " + rd_kafka_err2str(e)};
  }
  for (auto& p : out) {
    const auto* tp = rd_kafka_topic_partition_list_find(list.get(), topic.c_str(), p.partition);
    if (tp != nullptr && tp->err == RD_KAFKA_RESP_ERR_NO_ERROR && tp->offset >= 0) p.committed = tp->offset;
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.partition < b.partition; });
  return out;
}

}  // namespace ib::kafka
