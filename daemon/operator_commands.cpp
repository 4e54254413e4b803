#include "operator_commands.hpp"

namespace {

void add_config(CLI::App& cmd, std::string& path) {
  cmd.add_option("--config", path, "YAML config file of the daemon (docs/configuration.md)")->required();
}

}  // namespace

OperatorCommands::OperatorCommands(CLI::App& app) {
  using StoreAction = ib::tools::StoreOptions::Action;
  using ReviewAction = ib::tools::ReviewOptions::Action;

  store_cmd_ = app.add_subcommand(
      "store", "Inspect the dedup store: stats, get, list, forget (not while a daemon holds it).");
  store_cmd_->require_subcommand(1);
  store_cmd_->footer("Exit: 0 ok, 1 key not found / nothing forgotten, 2 usage or config, "
                     "3 store held by a running daemon, missing or unreadable. Docs: docs/cli.md");
  auto* stats = store_cmd_->add_subcommand("stats", "Print the store's size estimates.");
  stats->callback([this] { store_.action = StoreAction::stats; });
  auto* get = store_cmd_->add_subcommand("get", "Print the entry of one dedup key.");
  get->add_option("KEY", store_.key, "dedup key, exactly as stored")->required();
  get->callback([this] { store_.action = StoreAction::get; });
  auto* forget = store_cmd_->add_subcommand(
      "forget", "Remove one dedup key, so its next copy is sent to D365 again.");
  forget->add_option("KEY", store_.key, "dedup key, exactly as stored")->required();
  forget->callback([this] { store_.action = StoreAction::forget; });
  auto* list = store_cmd_->add_subcommand("list", "List entries in key order, one page.");
  list->add_option("--limit", store_.limit, "at most N entries (default 50)");
  list->add_option("--start", store_.start, "first key (inclusive)");
  list->add_flag("--include-expired", store_.include_expired, "also entries past the TTL not compacted yet");
  list->callback([this] { store_.action = StoreAction::list; });
  auto* rebuild = store_cmd_->add_subcommand(
      "rebuild", "Rebuild the store from the dedup changelog topic (the old one is moved aside).");
  rebuild->callback([this] { store_.action = StoreAction::rebuild; });
  add_config(*rebuild, config_path_);
  for (auto* c : {stats, get, forget, list}) {
    add_config(*c, config_path_);
    c->add_flag("--json", store_.json, "JSON output");
  }

  review_cmd_ = app.add_subcommand(
      "review", "The manual-review topic: list, show, replay entries to the input topic.");
  review_cmd_->require_subcommand(1);
  review_cmd_->footer("Reads the topic without joining a consumer group. Exit: 0 ok, 1 no such "
                      "entry / nothing selected, 2 usage or config, 3 Kafka unreadable, 4 a "
                      "replay was not delivered. Docs: docs/cli.md");
  auto* rlist = review_cmd_->add_subcommand("list", "One line per review entry (PARTITION:OFFSET, key, "
                                                    "reason, D365 status, sends, origin, error).");
  rlist->add_option("--reason", review_.reason, "only this reason: invalid|conflict|rejected|exhausted");
  rlist->add_option("--key", review_.keys, "only entries with this message key (repeatable)");
  rlist->add_flag("--json", review_.json, "one JSON object a line");
  rlist->callback([this] { review_.action = ReviewAction::list; });
  auto* show = review_cmd_->add_subcommand("show", "Everything about one entry: headers, history, payload.");
  show->add_option("ID", review_.id, "the entry, PARTITION:OFFSET (from `review list`)")->required();
  show->add_flag("--json", review_.json, "one JSON object");
  show->callback([this] { review_.action = ReviewAction::show; });
  auto* replay = review_cmd_->add_subcommand(
      "replay", "Produce selected entries to the input topic as fresh first attempts, forgetting their "
                "dedup entries (one selector required).");
  replay->add_option("--key", review_.keys, "entries with this message key (repeatable)");
  replay->add_option("--reason", review_.reason, "entries with this reason");
  replay->add_option("--id", review_.ids, "the entry PARTITION:OFFSET (repeatable)");
  replay->add_flag("--all", review_.all, "every entry");
  replay->add_flag("--dry-run", review_.dry_run, "list what would be replayed; change nothing");
  replay->callback([this] { review_.action = ReviewAction::replay; });
  for (auto* c : {rlist, show, replay}) add_config(*c, config_path_);
}

std::optional<int> OperatorCommands::run() const {
  if (store_cmd_->parsed()) return ib::tools::store_command(config_path_, store_);
  if (review_cmd_->parsed()) return ib::tools::review_command(config_path_, review_);
  return std::nullopt;
}
