#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace ib::kafka {

/// librdkafka properties by name (e.g. `security.protocol: SASL_SSL`, `sasl.mechanism`,
/// `ssl.ca.location`). Applied after the fields below, so they can set anything the
/// fields do not cover; properties that would break the delivery guarantees are refused
/// by validate().
using Properties = std::map<std::string, std::string>;

/// The consumer-group consumer (input + retry topics).
struct ConsumerConfig {
  /// `host:port,...` of the brokers.
  std::string bootstrap_servers;
  /// Consumer group; all daemon instances of one deployment share it.
  std::string group_id = "invoice-bridge";
  /// `group.instance.id` (static membership): a member that restarts within
  /// session.timeout keeps its partitions, no rebalance. Unique per member (the pod name
  /// of a StatefulSet); empty: dynamic membership.
  std::string group_instance_id;
  /// Topics to subscribe to (input and retry).
  std::vector<std::string> topics;
  /// `cooperative-sticky` (incremental rebalances) or an eager one (`range`, `roundrobin`).
  std::string assignment_strategy = "cooperative-sticky";
  /// Where a partition without a committed offset starts: `earliest` or `latest`.
  std::string auto_offset_reset = "earliest";
  /// Period of librdkafka's commit of the offsets stored by store_offset(); 0 turns
  /// periodic commits off (then only commit(), the revoke path and close() commit).
  std::chrono::milliseconds auto_commit_interval{1000};
  /// Group session timeout (member considered dead after this without heartbeats).
  std::chrono::milliseconds session_timeout{30000};
  /// Longest time the poll thread may go between consume() calls before the member is
  /// evicted. The poll thread never blocks on the pipeline, so the default is ample.
  std::chrono::milliseconds max_poll_interval{300000};
  /// Events held for the owner; at this many the poll thread stops taking messages.
  std::size_t queue_capacity = 2000;
  /// The poll thread takes messages again once the owner has drained the queue to this.
  std::size_t queue_resume_at = 1000;
  /// Longest single consume() call on the poll thread (its reaction time to stop/pause).
  std::chrono::milliseconds poll_timeout{100};
  /// Tries of one commit (1 = no retry) on retriable errors.
  int commit_attempts = 3;
  /// Pause between commit tries.
  std::chrono::milliseconds commit_backoff{200};
  /// Bound on close(): final commit, leaving the group and revoking the assignment.
  std::chrono::milliseconds close_timeout{10000};
  /// On a revoke (not a loss, not our own close): how long the rebalance waits for the
  /// messages already handed to the owner to become durable (stored offsets) before it
  /// commits and lets the partitions go. What settles in time is committed, so the new
  /// owner does not process it again (no repeated review record, no repeated duplicate
  /// count); the rest is delivered again. 0 = no wait. Keep it well below
  /// max_poll_interval: the poll thread waits.
  std::chrono::milliseconds revoke_grace{10000};
  /// Any other librdkafka property (SASL, SSL, fetch sizes, debug, ...).
  Properties properties;

  /// Every problem at once; empty when valid.
  std::vector<std::string> validate() const;
};

/// The idempotent producer (retry and manual-review topics).
struct ProducerConfig {
  /// `host:port,...` of the brokers.
  std::string bootstrap_servers;
  /// How long librdkafka keeps trying to deliver one message before its delivery callback
  /// reports failure (`message.timeout.ms`); 0 = forever (not allowed: every produce must end).
  std::chrono::milliseconds delivery_timeout{60000};
  /// How long messages wait to form a batch (`linger.ms`).
  std::chrono::milliseconds linger{5};
  /// Most messages queued inside librdkafka; produce() fails at once (retriable) above it.
  int max_queued_messages = 100000;
  /// Bound on flush() during close / destruction before the rest is purged (each purged
  /// message still gets its failure callback).
  std::chrono::milliseconds close_timeout{10000};
  /// Longest single poll() on the delivery-report thread.
  std::chrono::milliseconds poll_timeout{100};
  /// Any other librdkafka property.
  Properties properties;

  /// Every problem at once; empty when valid.
  std::vector<std::string> validate() const;
};

/// A topic the daemon needs (the retry and manual-review topics).
struct TopicSpec {
  std::string name;
  int partitions = 4;
  int replication_factor = 1;
  /// Topic-level configs, e.g. {"retention.ms", "1209600000"}.
  std::map<std::string, std::string> configs;
};

}  // namespace ib::kafka
