#include "kafka/kafka_config.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

namespace ib::kafka {

namespace {

bool legal_topic_name(const std::string& name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

struct FileProperty {
  const char* name;
  config::FileRole role;
};

constexpr FileProperty kFileProperties[] = {
    {"ssl.ca.location", config::FileRole::plain},
    {"ssl.certificate.location", config::FileRole::plain},
    {"ssl.key.location", config::FileRole::secret},
    {"ssl.keystore.location", config::FileRole::secret},
    {"ssl.crl.location", config::FileRole::plain},
    {"sasl.kerberos.keytab", config::FileRole::secret},
};

}  // namespace

std::vector<std::string> TopicsConfig::validate() const {
  std::vector<std::string> problems;
  const std::pair<const char*, const std::string*> named[]{
      {"kafka.topics.input", &input}, {"kafka.topics.retry", &retry}, {"kafka.topics.review", &review}};
  bool empty = false;
  for (const auto& [key, value] : named) {
    if (value->empty()) {
      empty = true;
    } else if (!legal_topic_name(*value)) {
      problems.push_back(std::string(key) + ": '" + *value +
                         "' is not a valid topic name (letters, digits, '.', '_', '-'; at most 249)");
    }
  }
  if (empty) problems.push_back("kafka.topics: topic names must not be empty");
  for (std::size_t i = 0; i < 3; ++i) {
    for (std::size_t j = i + 1; j < 3; ++j) {
      if (!named[i].second->empty() && *named[i].second == *named[j].second) {
        problems.push_back("kafka.topics: input, retry and review must be three different topics ('" +
                           *named[i].second + "' is used twice)");
      }
    }
  }
  const std::string log = changelog_topic();
  if (!changelog.empty() && !legal_topic_name(changelog)) {
    problems.push_back("kafka.topics.changelog: '" + changelog +
                       "' is not a valid topic name (letters, digits, '.', '_', '-'; at most 249)");
  } else if (log.size() > 249) {
    problems.push_back("kafka.topics.changelog: the derived name '" + log + "' is too long; set a shorter one");
  }
  for (const auto& [key, value] : named) {
    if (!value->empty() && *value == log) {
      problems.push_back("kafka.topics.changelog: must differ from " + std::string(key) + " ('" + log + "')");
    }
  }
  if (partitions < 1) problems.push_back("kafka.topics.partitions: must be at least 1");
  if (replication_factor < 1) problems.push_back("kafka.topics.replication_factor: must be at least 1");
  return problems;
}

void load_section(config::ConfigSource& s, ConsumerConfig& consumer, ProducerConfig& producer,
                  TopicsConfig& topics) {
  std::string bootstrap = "127.0.0.1:9092";
  Properties properties;
  s.read("kafka.bootstrap_servers", bootstrap);
  s.read("kafka.properties", properties);
  consumer.bootstrap_servers = producer.bootstrap_servers = bootstrap;
  s.read("kafka.group_id", consumer.group_id);
  s.read("kafka.topics.input", topics.input);
  s.read("kafka.topics.retry", topics.retry);
  s.read("kafka.topics.review", topics.review);
  s.read("kafka.topics.changelog", topics.changelog);
  s.read("kafka.topics.create", topics.create);
  s.read("kafka.topics.partitions", topics.partitions);
  s.read("kafka.topics.replication_factor", topics.replication_factor);
  s.read_enum("kafka.consumer.assignment_strategy", consumer.assignment_strategy,
              {"cooperative-sticky", "range", "roundrobin"});
  s.read_enum("kafka.consumer.auto_offset_reset", consumer.auto_offset_reset, {"earliest", "latest"});
  s.read("kafka.consumer.session_timeout", consumer.session_timeout);
  s.read("kafka.consumer.group_instance_id", consumer.group_instance_id);
  s.read("kafka.consumer.auto_commit_interval", consumer.auto_commit_interval);
  s.read("kafka.consumer.close_timeout", consumer.close_timeout);
  s.read("kafka.consumer.revoke_grace", consumer.revoke_grace);
  Properties consumer_props, producer_props;
  s.read("kafka.consumer.properties", consumer_props);
  s.read("kafka.producer.delivery_timeout", producer.delivery_timeout);
  s.read("kafka.producer.linger", producer.linger);
  s.read("kafka.producer.properties", producer_props);
  consumer.properties = properties;
  producer.properties = properties;
  for (auto& [k, v] : consumer_props) consumer.properties[k] = v;
  for (auto& [k, v] : producer_props) producer.properties[k] = v;
  consumer.topics = {topics.input, topics.retry};
}

std::vector<std::string> validate_section(const ConsumerConfig& consumer, const ProducerConfig& producer,
                                          const TopicsConfig& topics) {
  std::vector<std::string> problems;
  auto add = [&](const std::string& prefix, std::vector<std::string> more) {
    for (auto& p : more) problems.push_back(p.rfind(prefix, 0) == 0 ? std::move(p) : prefix + p);
  };
  add("kafka.consumer: ", consumer.validate());
  add("kafka.producer: ", producer.validate());
  for (auto& p : topics.validate()) problems.push_back(std::move(p));
  return problems;
}

config::HostFindings check_section_files(const config::ConfigSource& s, const ConsumerConfig& consumer,
                                         const ProducerConfig& producer) {
  config::HostFindings out;
  std::set<std::pair<std::string, std::string>> checked;  // a shared property is checked once
  const std::pair<const Properties*, const char*> clients[]{{&consumer.properties, "kafka.consumer.properties"},
                                                            {&producer.properties, "kafka.producer.properties"}};
  for (const auto& [props, own_key] : clients) {
    for (const auto& [name, role] : kFileProperties) {
      const auto it = props->find(name);
      if (it == props->end() || it->second.empty()) continue;
      const char* key = s.where(own_key, name).empty() ? "kafka.properties" : own_key;
      if (!checked.emplace(key, name).second) continue;
      const auto& path = it->second;
      const auto what = s.describe(key, name);
      if (std::string_view(name) == "ssl.ca.location") {
        if (path == "probe") continue;
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) {
          const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (fd < 0) {
            out.problems.push_back(what + ": " + path + ": cannot be opened for reading: " + std::strerror(errno));
          } else {
            ::close(fd);
          }
          continue;
        }
      }
      config::check_readable_file(what, path, role, out);
    }
  }
  return out;
}

}  // namespace ib::kafka
