#pragma once

#include "config/config_source.hpp"
#include "config/host_checks.hpp"
#include "kafka/config.hpp"

#include <string>
#include <vector>

namespace ib::kafka {

/// Topics the daemon reads and writes (keys under `kafka.topics.`).
struct TopicsConfig {
  /// The input topic upstream systems publish invoices to.
  std::string input = "invoices";
  /// Where transient failures wait for their next attempt.
  std::string retry = "invoices.retry";
  /// Where invoices that need a person go.
  std::string review = "invoices.review";
  /// The compacted dedup changelog (`kafka.topics.changelog`); empty: `<input>.dedup-changelog`.
  std::string changelog;
  /// Create the retry and review topics (and the changelog, and the input when the
  /// changelog is on) at startup when missing.
  bool create = true;
  /// Partitions and replication factor of topics created at startup.
  int partitions = 4;
  int replication_factor = 1;

  /// Every problem, each naming its key: legal Kafka names (letters, digits, `.`, `_`, `-`;
  /// at most 249; not `.` or `..`), three different topics, sizes at least 1.
  std::vector<std::string> validate() const;

  /// The changelog topic's name: `changelog`, or `<input>.dedup-changelog`.
  std::string changelog_topic() const { return changelog.empty() ? input + ".dedup-changelog" : changelog; }
};

/// The `kafka.` section (docs/configuration.md) into the clients' and the topics' structs:
/// one broker list and one property map for consumer and producer alike, then each
/// client's own keys and properties (which win). The consumer subscribes to the input and
/// retry topics. Problems land in the source.
void load_section(config::ConfigSource& source, ConsumerConfig& consumer, ProducerConfig& producer,
                  TopicsConfig& topics);

/// Every problem of the section at once, each naming its key (`kafka.consumer: ...`,
/// `kafka.topics.input: ...`).
std::vector<std::string> validate_section(const ConsumerConfig& consumer, const ProducerConfig& producer,
                                          const TopicsConfig& topics);

/// The files librdkafka properties name (`ssl.ca.location`, `ssl.certificate.location`,
/// `ssl.key.location`, `ssl.keystore.location`, `ssl.crl.location`, `sasl.kerberos.keytab`)
/// exist and can be read; keys and keystores are secrets. `ssl.ca.location` may also be a
/// directory, or `probe`. Each message names the property's key and line.
config::HostFindings check_section_files(const config::ConfigSource& source, const ConsumerConfig& consumer,
                                         const ProducerConfig& producer);

}  // namespace ib::kafka
