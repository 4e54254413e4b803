#include "tools/store_command.hpp"

#include "json_output.hpp"
#include "tool_support.hpp"

#include "dedup/rocksdb_dedup_store.hpp"
#include "kafka/topic_reader.hpp"
#include "pipeline/changelog_restorer.hpp"

#include <boost/json.hpp>

#include <iomanip>
#include <iostream>

namespace ib::tools {

namespace {

namespace json = boost::json;

json::object entry_json(std::string_view key, const dedup::Entry& e, std::chrono::milliseconds ttl) {
  json::object o;
  json_output::put_text(o, "key", key);  // keys are bytes: _base64 when not UTF-8
  o["state"] = core::to_string(e.state);
  o["fingerprint"] = tool::printable_or_hex(e.fingerprint);
  o["attempt"] = e.attempt;
  json_output::put_text(o, "record_id", e.record_id);
  o["state_since"] = tool::iso_utc(e.state_since);
  o["first_seen"] = tool::iso_utc(e.first_seen);
  o["last_seen"] = tool::iso_utc(e.last_seen);
  o["duplicates"] = e.duplicates;
  o["expires"] = tool::iso_utc(e.last_seen + ttl);
  return o;
}

void print_entry(std::ostream& out, std::string_view key, const dedup::Entry& e,
                 std::chrono::milliseconds ttl) {
  auto row = [&](std::string_view name, const std::string& value) {
    out << std::left << std::setw(13) << name << value << '\n';
  };
  row("key", std::string(key));
  row("state", std::string(core::to_string(e.state)));
  row("fingerprint", tool::printable_or_hex(e.fingerprint));
  row("attempt", std::to_string(e.attempt));
  row("record_id", e.record_id.empty() ? "-" : e.record_id);
  row("state_since", tool::iso_utc(e.state_since));
  row("first_seen", tool::iso_utc(e.first_seen));
  row("last_seen", tool::iso_utc(e.last_seen));
  row("duplicates", std::to_string(e.duplicates));
  row("expires", tool::iso_utc(e.last_seen + ttl));
}

int stats(dedup::DedupStore& store, const dedup::DedupConfig& config, bool as_json,
          std::ostream& out, std::ostream& err) {
  auto s = store.stats();
  if (!s) {
    err << "invoice-bridge store: " << s.error().message << '\n';
    return kToolUnavailable;
  }
  const auto ttl_s = std::chrono::duration_cast<std::chrono::seconds>(config.ttl).count();
  if (as_json) {
    json::object o;
    json_output::put_text(o, "path", config.path.string());
    o["estimated_keys"] = s->estimated_keys;
    o["disk_bytes"] = s->disk_bytes;
    o["memtable_bytes"] = s->memtable_bytes;
    o["block_cache_bytes"] = s->block_cache_bytes;
    o["ttl_seconds"] = ttl_s;
    out << json::serialize(o) << '\n';
    return kToolOk;
  }
  auto row = [&](std::string_view name, const std::string& value) {
    out << std::left << std::setw(19) << name << value << '\n';
  };
  row("path", config.path.string());
  row("estimated_keys", std::to_string(s->estimated_keys) + " (estimate; counts expired keys not yet compacted)");
  row("disk_bytes", std::to_string(s->disk_bytes));
  row("memtable_bytes", std::to_string(s->memtable_bytes));
  row("block_cache_bytes", std::to_string(s->block_cache_bytes));
  row("ttl", std::to_string(ttl_s) + "s");
  return kToolOk;
}

int list(dedup::DedupStore& store, const dedup::DedupConfig& config, const StoreOptions& options,
         std::ostream& out, std::ostream& err) {
  dedup::ScanOptions scan;
  scan.start = options.start;
  scan.limit = options.limit;
  scan.include_expired = options.include_expired;
  auto page = store.scan(scan);
  if (!page) {
    err << "invoice-bridge store: " << page.error().message << '\n';
    return kToolUnavailable;
  }
  if (options.json) {
    json::array rows;
    for (const auto& r : page->rows) {
      auto o = entry_json(r.key, r.entry, config.ttl);
      o["expired"] = r.expired;
      rows.push_back(std::move(o));
    }
    json::object o;
    o["rows"] = std::move(rows);
    if (page->next_start) {
      json_output::put_text(o, "next_start", *page->next_start);
    } else {
      o["next_start"] = nullptr;
    }
    out << json::serialize(o) << '\n';
    return kToolOk;
  }
  for (const auto& r : page->rows) {
    out << tool::one_line(r.key, 200) << '\t' << core::to_string(r.entry.state)
        << "\tattempt " << r.entry.attempt << "\tduplicates " << r.entry.duplicates
        << "\tlast_seen " << tool::iso_utc(r.entry.last_seen) << (r.expired ? "\texpired" : "")
        << '\n';
  }
  if (page->next_start) {
    out << "(more: --start '" << tool::one_line(*page->next_start, 200) << "')\n";
  }
  return kToolOk;
}

}  // namespace

int run_store_command(const dedup::DedupConfig& config, const StoreOptions& options,
                      core::Clock& clock, std::ostream& out, std::ostream& err) {
  using Action = StoreOptions::Action;
  if ((options.action == Action::get || options.action == Action::forget) && options.key.empty()) {
    err << "invoice-bridge store: KEY must not be empty\n";
    return kToolUsage;
  }
  if (options.action == Action::list && options.limit == 0) {
    err << "invoice-bridge store: --limit must be at least 1\n";
    return kToolUsage;
  }
  auto opened = tool::open_store(config, clock);
  if (!opened.store) {
    err << "invoice-bridge store: " << opened.message << '\n';
    return kToolUnavailable;
  }
  auto& store = *opened.store;
  switch (options.action) {
    case Action::stats: return stats(store, config, options.json, out, err);
    case Action::list: return list(store, config, options, out, err);
    case Action::rebuild: break;  // run_store_rebuild (needs the Kafka section)
    case Action::get: {
      auto found = store.get(options.key);
      if (!found) {
        err << "invoice-bridge store: " << found.error().message << '\n';
        return kToolUnavailable;
      }
      if (!*found) {
        err << "invoice-bridge store: " << tool::one_line(options.key, 200)
            << ": not in the store (never seen, forgotten, or expired)\n";
        return kToolNotFound;
      }
      if (options.json) {
        out << json::serialize(entry_json(options.key, **found, config.ttl)) << '\n';
      } else {
        print_entry(out, options.key, **found, config.ttl);
      }
      return kToolOk;
    }
    case Action::forget: {
      auto forgot = store.forget(options.key);
      if (!forgot) {
        err << "invoice-bridge store: " << forgot.error().message << '\n';
        return kToolUnavailable;
      }
      if (options.json) {
        json::object o;
        json_output::put_text(o, "key", options.key);
        o["forgotten"] = *forgot;
        out << json::serialize(o) << '\n';
      } else if (*forgot) {
        out << "forgot " << tool::one_line(options.key, 200)
            << ": its next copy will be sent to D365 again\n";
      } else {
        err << "invoice-bridge store: " << tool::one_line(options.key, 200)
            << ": not in the store; nothing forgotten\n";
      }
      if (!*forgot) return kToolNotFound;
      // An operator's forget must survive a power cut right after the command returns.
      if (auto synced = store.sync(); !synced) {
        err << "invoice-bridge store: " << synced.error().message << '\n';
        return kToolUnavailable;
      }
      return kToolOk;
    }
  }
  return kToolUsage;
}

int run_store_rebuild(const app::DaemonConfig& config, core::Clock& clock, std::ostream& out, std::ostream& err) {
  pipeline::ChangelogRestoreConfig restore;
  restore.topic = config.topics.changelog_topic();
  restore.read.properties = config.consumer.properties;
  restore.read.properties["bootstrap.servers"] = config.consumer.bootstrap_servers;
  restore.read.properties.erase("group.instance.id");
  auto partitions = kafka::topic_partition_count(restore.topic, restore.read);
  if (!partitions) {
    err << "invoice-bridge store rebuild: " << partitions.error().message << '\n';
    return kToolUnavailable;
  }
  const auto& path = config.dedup.path;
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_empty(path, ec)) {
    {
      auto held = tool::open_store(config.dedup, clock);
      if (held.failure == tool::OpenFailure::in_use) {
        err << "invoice-bridge store rebuild: " << held.message << '\n';
        return kToolUnavailable;
      }
    }
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
    auto aside = path;
    aside += ".before-rebuild-" + std::to_string(seconds);
    std::filesystem::rename(path, aside, ec);
    if (ec) {
      err << "invoice-bridge store rebuild: cannot move " << path.string() << " aside: " << ec.message() << '\n';
      return kToolUnavailable;
    }
    err << "moved the old store aside to " << aside.string() << " (nothing deleted)\n";
  }
  auto opened = dedup::RocksDbDedupStore::open(config.dedup, clock);
  if (!opened) {
    err << "invoice-bridge store rebuild: " << opened.error().message << '\n';
    return kToolUnavailable;
  }
  err << "created a new dedup store at " << path.string() << "; reading " << restore.topic << " ("
      << *partitions << " partitions)\n";
  auto& store = **opened;
  dedup::RestoreApplied total;
  for (std::int32_t p = 0; p < *partitions; ++p) {
    auto report = pipeline::restore_partition(
        restore, store, p, nullptr,
        [&](const kafka::PartitionRange& r) {
          err << "partition " << p << ": offsets " << r.from << " to " << r.to << '\n';
        },
        [&](const dedup::RestoreApplied& so_far, std::int64_t next) {
          err << "partition " << p << ": " << so_far.written << " keys, at offset " << next << '\n';
        });
    if (!report) {
      err << "invoice-bridge store rebuild: partition " << p << ": " << report.error() << '\n';
      return kToolUnavailable;
    }
    total.written += report->applied.written;
    total.expired += report->applied.expired;
    total.deleted += report->applied.deleted;
  }
  if (auto synced = store.sync(); !synced) {
    err << "invoice-bridge store rebuild: " << synced.error().message << '\n';
    return kToolUnavailable;
  }
  out << "rebuilt " << path.string() << " from " << restore.topic << ": " << *partitions << " partitions, "
      << total.written << " keys (" << total.expired << " past the TTL skipped)\n";
  return kToolOk;
}

int store_command(const std::string& config_path, const StoreOptions& options) {
  auto config = tool::load_config(
      config_path, [](const app::DaemonConfig& c) { return c.dedup.validate(); }, "invoice-bridge store",
      std::cerr);
  if (!config) return kToolUsage;
  if (options.action == StoreOptions::Action::rebuild) {
    return run_store_rebuild(*config, core::system_clock(), std::cout, std::cerr);
  }
  return run_store_command(config->dedup, options, core::system_clock(), std::cout, std::cerr);
}

}  // namespace ib::tools
