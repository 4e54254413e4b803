#include "app/daemon.hpp"

#include "config/config_source.hpp"
#include "d365/batch_client.hpp"
#include "d365/bulk_client.hpp"
#include "d365/d365_transport.hpp"
#include "core/log.hpp"
#include "dedup/rocksdb_dedup_store.hpp"
#include "kafka/admin.hpp"
#include "kafka/rdkafka_consumer.hpp"
#include "kafka/rdkafka_producer.hpp"
#include "metrics/metrics_server.hpp"
#include "pipeline/changelog_restorer.hpp"
#include "pipeline/consumer_loop.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/pipeline_metrics.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <prometheus/registry.h>
#include <systemd/sd-daemon.h>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace ib::app {

namespace asio = boost::asio;

namespace {

// The changelog topic exists (created when missing and allowed) with cleanup.policy=compact
// and the input's partition count. nullopt when it does; else the exit code (2: a
// configuration problem to fix, 3: Kafka unreachable, worth another start) after logging.
std::optional<int> ensure_changelog(const DaemonConfig& cfg, const kafka::Properties& admin) {
  const auto timeout = std::chrono::seconds(30);
  const std::string name = cfg.topics.changelog_topic();
  auto input = kafka::describe_topic(admin, cfg.topics.input, timeout);
  if (!input) {
    log::error("cannot describe the input topic", {{"topic", cfg.topics.input}, {"error", input.error().message}});
    return 3;
  }
  if (!*input) {
    log::error("the input topic does not exist; the dedup changelog needs its partition count",
               {{"topic", cfg.topics.input}});
    return 2;
  }
  const int partitions = (*input)->partitions;
  if (cfg.topics.create) {
    kafka::TopicSpec spec{name, partitions, cfg.topics.replication_factor, {{"cleanup.policy", "compact"}}};
    if (auto made = kafka::ensure_topics(admin, {spec}, timeout); !made) {
      log::error("cannot create the dedup changelog topic", {{"topic", name}, {"error", made.error().message}});
      return 3;
    }
  }
  auto log_topic = kafka::describe_topic(admin, name, timeout);
  if (!log_topic) {
    log::error("cannot describe the dedup changelog topic", {{"topic", name}, {"error", log_topic.error().message}});
    return 3;
  }
  const std::string fix = "create it with cleanup.policy=compact and " + std::to_string(partitions) +
                          " partitions (the input's), or set dedup.changelog: false for a single member";
  if (!*log_topic) {
    log::error("the dedup changelog topic does not exist (kafka.topics.create is false)",
               {{"topic", name}, {"fix", fix}});
    return 2;
  }
  const auto policy = (*log_topic)->configs.find("cleanup.policy");
  if (policy == (*log_topic)->configs.end() || policy->second != "compact") {
    log::error("the dedup changelog topic must have cleanup.policy=compact (delete would lose dedup state)",
               {{"topic", name},
                {"cleanup_policy", policy == (*log_topic)->configs.end() ? "" : policy->second},
                {"fix", fix}});
    return 2;
  }
  if ((*log_topic)->partitions != partitions) {
    log::error("the dedup changelog topic must have as many partitions as the input topic",
               {{"topic", name},
                {"partitions", std::to_string((*log_topic)->partitions)},
                {"input_partitions", std::to_string(partitions)},
                {"fix", fix}});
    return 2;
  }
  log::info("dedup changelog topic checked", {{"topic", name}, {"partitions", std::to_string(partitions)}});
  return std::nullopt;
}

}  // namespace

D365Factory make_d365_factory(const DaemonConfig& daemon_config) {
  const d365::D365Config& config = daemon_config.d365;
  if (const auto problems = config.validate(); !problems.empty()) {
    std::string all("d365 config:");
    for (const auto& p : problems) all += "\n  " + p;
    throw std::invalid_argument(all);
  }
  // The batcher's size is the writer's limit: batches reach the client whole.
  const auto max_items = daemon_config.pipeline.batch.max_items;
  return [config, max_items](asio::any_io_executor executor) {
    D365Parts parts;
    parts.codec = std::make_unique<d365::EntityInvoiceCodec>(config.invoice, config.key, config.mapping);
    auto transport = d365::make_d365_transport(executor, config, config::environment());
    parts.sender = d365::make_sender(transport, config, max_items);
    return parts;
  };
}

namespace {

// What STATUS= says once the member serves: outcomes so far, counted on the io thread.
struct Progress {
  std::uint64_t imported = 0, duplicates = 0, retried = 0, review = 0;

  void count(core::Outcome o) {
    switch (o) {
      case core::Outcome::imported:
      case core::Outcome::recovered: ++imported; break;
      case core::Outcome::duplicate: ++duplicates; break;
      case core::Outcome::retried: ++retried; break;
      case core::Outcome::conflict:
      case core::Outcome::invalid:
      case core::Outcome::rejected:
      case core::Outcome::exhausted: ++review; break;
      case core::Outcome::throttled: break;
    }
  }
};

void notify_status(const std::string& status) { sd_notify(0, ("STATUS=" + status).c_str()); }

}  // namespace

struct Daemon::Impl {
  DaemonConfig config;
  D365Factory d365;
  asio::io_context ctx;
  pipeline::ConsumerLoop* loop = nullptr;  // valid while run() is in its io loop
  mutable std::mutex url_mutex;
  std::string url;
};

Daemon::Daemon(DaemonConfig config, D365Factory d365) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  impl_->d365 = std::move(d365);
}

Daemon::~Daemon() = default;

void Daemon::request_stop() {
  asio::post(impl_->ctx, [impl = impl_.get()] {
    if (impl->loop) impl->loop->stop();
  });
}

std::string Daemon::metrics_url() const {
  std::lock_guard lock(impl_->url_mutex);
  return impl_->url;
}

int Daemon::run(bool handle_signals) {
  auto& s = *impl_;
  const auto& cfg = s.config;
  auto& clock = core::system_clock();

  // The store first: a second daemon on the same directory must stop here, before it
  // joins the consumer group.
  auto opened = dedup::RocksDbDedupStore::open(cfg.dedup, clock);
  if (!opened) {
    log::error("cannot open the dedup store", {{"error", opened.error().message}});
    return 2;
  }
  std::unique_ptr<dedup::DedupStore> store = std::move(*opened);

  kafka::Properties admin = cfg.producer.properties;
  admin["bootstrap.servers"] = cfg.producer.bootstrap_servers;
  if (cfg.topics.create) {
    std::vector<kafka::TopicSpec> specs;
    for (const auto& name : {cfg.topics.retry, cfg.topics.review}) {
      specs.push_back({name, cfg.topics.partitions, cfg.topics.replication_factor, {}});
    }
    // The changelog's partition count is the input's: an input that does not exist yet is
    // created here (kafka.topics.partitions) rather than left to auto-creation.
    if (cfg.dedup.changelog) specs.push_back({cfg.topics.input, cfg.topics.partitions, cfg.topics.replication_factor, {}});
    notify_status("creating the retry and review topics");
    if (auto made = kafka::ensure_topics(admin, specs, std::chrono::seconds(30)); !made) {
      log::error("cannot create the retry and review topics", {{"error", made.error().message}});
      // Kafka unreachable at boot is worth another start (exit 3: systemd restarts it).
      return 3;
    }
  }

  if (cfg.dedup.changelog) {
    notify_status("checking the dedup changelog topic");
    if (auto code = ensure_changelog(cfg, admin)) return *code;
  }

  std::unique_ptr<kafka::RdKafkaProducer> producer;
  std::unique_ptr<kafka::RdKafkaConsumer> consumer;
  try {
    producer = std::make_unique<kafka::RdKafkaProducer>(cfg.producer);
    consumer = std::make_unique<kafka::RdKafkaConsumer>(cfg.consumer);
  } catch (const std::exception& e) {
    log::error("cannot start the Kafka clients", {{"error", e.what()}});
    return 2;
  }

  auto registry = std::make_shared<prometheus::Registry>();
  pipeline::PipelineMetrics metrics(*registry);
  D365Parts d365 = s.d365(s.ctx.get_executor());

  pipeline::ConsumerLoop* loop_ptr = nullptr;
  std::atomic<bool> healthy{true};
  Progress progress;
  pipeline::PipelineEvents events;
  events.done = [&](const pipeline::InMessage& m, core::Outcome o) {
    progress.count(o);
    loop_ptr->on_done(m, o);
  };
  events.fatal = [&](const std::string& reason) {
    healthy = false;
    loop_ptr->fail(reason);
  };
  events.changelog_error = [&] { metrics.changelog_produce_error(); };
  // A bulk-message sender keeps its own counters (messages, refusals, fallbacks); the
  // metrics follow them after every answered batch, on this io thread like the sender.
  const auto* bulk = dynamic_cast<const d365::BulkClient*>(d365.sender.get());
  events.batch_answered = [&](std::size_t size, std::chrono::steady_clock::duration took,
                              const std::vector<d365::Answer>& answers) {
    metrics.batch(size, took);
    if (bulk) metrics.bulk(bulk->stats(), bulk->refused_share());
    bool throttled = false;
    for (const auto& a : answers) {
      metrics.response(a.status);
      throttled = throttled || a.outcome == core::AnswerClass::throttled;
    }
    if (throttled) metrics.throttled();
  };
  // The topics are configured once, under kafka.topics.
  auto pipeline_config = cfg.pipeline;
  pipeline_config.retry_topic = cfg.topics.retry;
  pipeline_config.review_topic = cfg.topics.review;
  if (cfg.dedup.changelog) pipeline_config.changelog_topic = cfg.topics.changelog_topic();
  pipeline::Pipeline pipe(s.ctx.get_executor(), pipeline_config,
                          {*d365.codec, *store, *d365.sender, *producer, clock}, events);
  std::unique_ptr<pipeline::ChangelogRestorer> restorer;
  if (cfg.dedup.changelog) {
    pipeline::ChangelogRestoreConfig restore;
    restore.topic = cfg.topics.changelog_topic();
    restore.read.properties = cfg.consumer.properties;
    restore.read.properties["bootstrap.servers"] = cfg.consumer.bootstrap_servers;
    restore.read.properties.erase("group.instance.id");  // the restore reader joins no group
    restorer = std::make_unique<pipeline::ChangelogRestorer>(s.ctx.get_executor(), restore, *store, &metrics);
  }
  pipeline::ConsumerLoop loop(cfg.loop, *consumer, pipe, clock, &metrics, restorer.get());
  loop_ptr = &loop;

  std::atomic<bool> ready{false};
  std::unique_ptr<metrics::MetricsServer> server;
  try {
    server = std::make_unique<metrics::MetricsServer>(
        s.ctx.get_executor(), cfg.metrics, registry, [&] { return healthy.load(); },
        [&] { return ready.load(); });
  } catch (const std::exception& e) {
    log::error("cannot open the metrics endpoint",
               {{"address", cfg.metrics.address + ":" + std::to_string(cfg.metrics.port)},
                {"error", e.what()}});
    return 2;
  }
  server->start();
  {
    std::lock_guard lock(s.url_mutex);
    s.url = server->url();
  }

  bool stopping = false;  // io thread
  asio::signal_set signals(s.ctx);
  if (handle_signals) {
    signals.add(SIGTERM);
    signals.add(SIGINT);
    signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      log::info("signal received; shutting down", {{"signal", std::to_string(sig)}});
      sd_notify(0, "STOPPING=1\nSTATUS=stopping: draining in-flight batches, then committing");
      ready = false;
      stopping = true;
      loop.stop();
    });
  }

  // The store-size gauge is not on the hot path: refresh it now and then.
  asio::steady_timer stats_timer(s.ctx);
  std::function<void()> refresh_stats = [&] {
    if (auto st = store->stats()) {
      metrics.store_keys(st->estimated_keys);
      metrics.store_disk_bytes(st->disk_bytes);
    }
    stats_timer.expires_after(std::chrono::seconds(15));
    stats_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) refresh_stats();
    });
  };
  refresh_stats();

  // systemd (a no-op without NOTIFY_SOCKET). READY=1 once the consumer has joined its group
  // and applied its first assignment; until then /readyz answers 503 too. WATCHDOG=1 from
  // this thread, the one that runs the pipeline, every half WATCHDOG_USEC: a stalled loop
  // stops pinging and systemd kills it. STATUS= the progress, at most every 5 s.
  std::uint64_t watchdog_usec = 0;
  if (sd_watchdog_enabled(0, &watchdog_usec) <= 0) watchdog_usec = 0;
  const auto ping_every = std::chrono::microseconds(watchdog_usec / 2);
  const auto status_every = std::chrono::seconds(5);
  auto next_ping = std::chrono::steady_clock::now();
  auto next_status = next_ping;
  asio::steady_timer notify_timer(s.ctx);
  std::function<void()> notify_tick = [&] {
    const auto now = std::chrono::steady_clock::now();
    if (!ready && !stopping && consumer->joined()) {
      ready = true;
      next_status = now;
      sd_notify(0, "READY=1");
      log::info("consumer group joined; serving the assignment",
                {{"partitions", std::to_string(consumer->assignment().size())}});
    }
    if (watchdog_usec != 0 && now >= next_ping) {
      sd_notify(0, "WATCHDOG=1");
      next_ping = now + ping_every;
    }
    if (ready && !stopping && now >= next_status) {
      notify_status("consuming " + std::to_string(consumer->assignment().size()) +
                    " partitions; imported " + std::to_string(progress.imported) + ", duplicates " +
                    std::to_string(progress.duplicates) + ", retried " +
                    std::to_string(progress.retried) + ", to review " + std::to_string(progress.review));
      next_status = now + status_every;
    }
    auto wait = std::chrono::steady_clock::duration(std::chrono::milliseconds(100));
    if (ready) {
      wait = next_status - now;
      if (watchdog_usec != 0) wait = std::min(wait, next_ping - now);
    }
    notify_timer.expires_after(wait);
    notify_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) notify_tick();
    });
  };
  notify_status("joining consumer group " + cfg.consumer.group_id);
  notify_tick();

  std::optional<std::string> failure;
  bool finished = false;
  asio::co_spawn(s.ctx, loop.run(),
                 [&](std::exception_ptr e, std::optional<std::string> result) {
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       result = std::string("pipeline crashed: ") + ex.what();
                     }
                   }
                   failure = result;
                   finished = true;
                   if (!stopping) sd_notify(0, "STOPPING=1");
                   stopping = true;
                   signals.cancel();
                   stats_timer.cancel();
                   notify_timer.cancel();
                   server->stop();
                 });
  {
    std::lock_guard lock(s.url_mutex);
    s.loop = &loop;
  }
  log::info("invoice-bridge running",
            {{"input_topic", cfg.topics.input}, {"group", cfg.consumer.group_id},
             {"metrics", server->url()}});
  s.ctx.run();
  s.loop = nullptr;
  ready = false;

  // Off the io loop: blocking Kafka calls are fine now.
  if (!finished) failure = "io loop ended unexpectedly";
  if (auto committed = consumer->commit(); !committed) {
    log::warn("final offset commit failed; the last messages will be delivered again",
              {{"error", committed.error().message()}});
  }
  consumer->close();
  if (!producer->flush(cfg.producer.close_timeout)) {
    log::warn("producer flush timed out at shutdown");
  }
  if (auto synced = store->sync(); !synced) {
    log::warn("dedup store sync failed at shutdown", {{"error", synced.error().message}});
  }
  if (failure) {
    log::error("invoice-bridge stopped after a fatal error", {{"error", *failure}});
    // A configuration problem (D365's certificate failed verification): a restart with the
    // same configuration fails the same way, so exit as for a bad config.
    return pipe.failed_on_configuration() ? 2 : 1;
  }
  log::info("invoice-bridge stopped");
  return 0;
}

}  // namespace ib::app
