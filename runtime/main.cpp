// The `kiln` command line: `kiln serve` and `kiln admin ...`, each with --help.
#include "base/logging.hpp"
#include "base/version.hpp"
#include "config/limits.hpp"
#include "config/settings.hpp"
#include "mcp/stdio_proxy.hpp"
#include "runtime/admin.hpp"
#include "runtime/node.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace {

constexpr const char* main_help = R"(kiln: a self-hosted runtime for media-generation job APIs

usage:
  kiln serve [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--log-level LEVEL]
  kiln admin create-account --name NAME [--plan PLAN] [--credits N] [--config FILE] [--data-dir DIR]
  kiln admin grant --account ID --amount N [--reason TEXT] [--config FILE] [--data-dir DIR]
  kiln admin snapshot --to DIR [--config FILE] [--data-dir DIR]
  kiln admin restore --from DIR [--config FILE] [--data-dir DIR]
  kiln admin inspect --family NAME [--key KEY] [--limit N] [--config FILE] [--data-dir DIR]
  kiln mcp [--url URL] [--tools SET] [--log-level LEVEL]
  kiln devices
  kiln --version
  kiln COMMAND --help

Settings come from the JSON config file, then KILN_* environment variables, then flags
(see docs/configuration.md). With no settings at all, `kiln serve` listens on 127.0.0.1:8080,
keeps its data under ./data, runs two built-in devices and prints a demo API key on first start.
)";

constexpr const char* serve_help = R"(usage: kiln serve [options]

Starts the HTTP API and the job runtime; stops cleanly on SIGINT or SIGTERM.

options:
  --config FILE      JSON configuration file
  --listen HOST:PORT address to listen on (default 127.0.0.1:8080; port 0 = any free port)
  --data-dir DIR     RocksDB and output files (default ./data)
  --log-level LEVEL  trace, debug, info, warn, error or off (default info); logs are JSON lines
                     on stderr
)";

constexpr const char* admin_help = R"(usage: kiln admin COMMAND [options]

Works on the data directory directly, with no server running (a running server holds it; use
POST /admin/v1/snapshots for an on-line snapshot).

  create-account   creates an account and prints its id, first API key and webhook secret
    --name NAME      account name (required)
    --plan PLAN      free, starter, pro or enterprise (default free)
    --credits N      starting credits (default 0)
  grant            adds credits to an account, with their ledger entry
    --account ID     the account (required)
    --amount N       credits, 1 to 10^12 (required)
    --reason TEXT    why (default "admin grant")
  snapshot         writes a consistent copy of the database
    --to DIR         where (required; must not exist)
  restore          makes a snapshot the data directory's database; the old one is moved aside
    --from DIR       the snapshot (required)
  inspect          prints stored records as they are, and whether each decodes (for a record
                   that stopped the server's start-up, which names its family and key)
    --family NAME    accounts, keys, jobs, account_jobs, ledger, idempotency,
                     idempotency_expiry, deliveries, pending_deliveries, job_events or meta
    --key KEY        one record (default: the family's first records)
    --limit N        how many records without --key (default 20)
  every command:
    --config FILE / --data-dir DIR   as for `kiln serve`
)";

constexpr const char* mcp_help = R"(usage: kiln mcp [--url URL] [--tools SET] [--log-level LEVEL]

MCP over stdio, for MCP clients that start a process: reads newline-delimited JSON-RPC on stdin,
sends each message to a running Kiln server's MCP endpoint and writes the answers on stdout.
Logs (JSON lines) go to stderr. The tools run in the server; this holds no data.

options:
  --url URL          the server's base URL (default http://127.0.0.1:8080)
  --tools SET        the tool set: kiln (POST /mcp, the default)
  --log-level LEVEL  as for `kiln serve` (default warn)

environment:
  KILN_API_KEY       the API key the messages are sent with (required)

See docs/mcp.md for an MCP client's configuration.
)";

struct arguments {
  std::map<std::string, std::string> options;  ///< "--name" -> value
  bool help = false;
  std::string error;
};

arguments parse_options(int argc, char** argv, int first, const std::vector<std::string>& known) {
  arguments result;
  for (int i = first; i < argc; ++i) {
    std::string word = argv[i];
    if (word == "--help" || word == "-h") {
      result.help = true;
      continue;
    }
    bool found = false;
    for (const auto& k : known) found = found || k == word;
    if (!found) {
      result.error = "unknown option '" + word + "'";
      return result;
    }
    if (i + 1 >= argc) {
      result.error = "option " + word + " needs a value";
      return result;
    }
    result.options[word] = argv[++i];
  }
  return result;
}

std::optional<kiln::settings> load(const arguments& args) {
  std::map<std::string, std::string> flags;
  if (args.options.count("--listen")) flags["listen"] = args.options.at("--listen");
  if (args.options.count("--data-dir")) flags["data_dir"] = args.options.at("--data-dir");
  std::string file = args.options.count("--config") ? args.options.at("--config") : "";
  auto loaded = kiln::load_settings(file, kiln::kiln_environment(), flags);
  if (!loaded.value) {
    std::fprintf(stderr, "kiln: %s\n", loaded.error.c_str());
    return std::nullopt;
  }
  return loaded.value;
}

int usage_error(const std::string& message, const char* help) {
  std::fprintf(stderr, "kiln: %s\n\n%s", message.c_str(), help);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string command = argc > 1 ? argv[1] : "";
  if (command.empty() || command == "--help" || command == "-h" || command == "help") {
    std::printf("%s", main_help);
    return command.empty() ? 2 : 0;
  }
  if (command == "serve") {
    auto args = parse_options(argc, argv, 2, {"--config", "--listen", "--data-dir", "--log-level"});
    if (args.help) return std::printf("%s", serve_help), 0;
    if (!args.error.empty()) return usage_error(args.error, serve_help);
    auto config = load(args);
    if (!config) return 2;
    auto level = args.options.count("--log-level") ? args.options.at("--log-level") : "info";
    return kiln::run_node(*config, level);
  }
  if (command == "--version") return std::printf("kiln %s\n", kiln::version.data()), 0;
  if (command == "mcp") {
    auto args = parse_options(argc, argv, 2, {"--url", "--tools", "--log-level"});
    if (args.help) return std::printf("%s", mcp_help), 0;
    if (!args.error.empty()) return usage_error(args.error, mcp_help);
    kiln::mcp::stdio_options options;
    if (args.options.count("--url")) options.url = args.options.at("--url");
    if (args.options.count("--tools")) options.tools = args.options.at("--tools");
    if (options.tools != "kiln")
      return usage_error("unknown tool set '" + options.tools + "' (known: kiln)", mcp_help);
    if (options.url.rfind("http://", 0) != 0 && options.url.rfind("https://", 0) != 0)
      return usage_error("--url must be an http:// or https:// base URL", mcp_help);
    while (options.url.size() > 8 && options.url.back() == '/') options.url.pop_back();
    const char* key = std::getenv("KILN_API_KEY");
    if (!key || !*key) return usage_error("set KILN_API_KEY to your API key", mcp_help);
    options.api_key = key;
    kiln::logs::init(args.options.count("--log-level") ? args.options.at("--log-level") : "warn");
    return kiln::mcp::run_stdio_proxy(options, stdin, stdout);
  }
  if (command == "devices") {
    if (argc > 2) {
      std::string word = argv[2];
      if (word == "--help" || word == "-h")
        return std::printf(
                 "usage: kiln devices\n\nLists the NVIDIA GPUs that \"devices\": \"auto\" "
                 "would use, through NVML (the driver's libnvidia-ml.so.1,\nor "
                 "KILN_NVML_LIBRARY), with their memory and utilization. Exits 1 when "
                 "NVML is not\navailable, saying why.\n"),
               0;
      return usage_error("kiln devices takes no arguments", "usage: kiln devices\n");
    }
    return kiln::list_gpus();
  }
  if (command == "admin") {
    std::string sub = argc > 2 ? argv[2] : "";
    if (sub.empty() || sub == "--help" || sub == "-h") return std::printf("%s", admin_help), 0;
    if (sub == "grant" || sub == "snapshot" || sub == "restore" || sub == "inspect") {
      auto args = parse_options(argc, argv, 3,
                                {"--account", "--amount", "--reason", "--to", "--from", "--family",
                                 "--key", "--limit", "--config", "--data-dir"});
      if (args.help) return std::printf("%s", admin_help), 0;
      if (!args.error.empty()) return usage_error(args.error, admin_help);
      auto config = load(args);
      if (!config) return 2;
      auto need = [&](const char* name) { return args.options.count(name) != 0; };
      if (sub == "snapshot") {
        if (!need("--to")) return usage_error("--to is required", admin_help);
        return kiln::admin_snapshot(*config, args.options.at("--to"));
      }
      if (sub == "restore") {
        if (!need("--from")) return usage_error("--from is required", admin_help);
        return kiln::admin_restore(*config, args.options.at("--from"));
      }
      if (sub == "inspect") {
        if (!need("--family")) return usage_error("--family is required", admin_help);
        char* end = nullptr;
        auto limit_text = need("--limit") ? args.options.at("--limit") : std::string("20");
        long long limit = std::strtoll(limit_text.c_str(), &end, 10);
        if (*end != '\0' || limit < 1)
          return usage_error("--limit must be a whole number >= 1", admin_help);
        auto key = need("--key") ? args.options.at("--key") : std::string();
        return kiln::admin_inspect(*config, args.options.at("--family"), key,
                                   static_cast<std::size_t>(limit));
      }
      if (!need("--account") || !need("--amount"))
        return usage_error("--account and --amount are required", admin_help);
      char* end = nullptr;
      long long amount = std::strtoll(args.options.at("--amount").c_str(), &end, 10);
      if (*end != '\0' || amount < 1 || amount > kiln::limits::credits_grant_max)
        return usage_error("--amount must be a whole number from 1 to 10^12", admin_help);
      auto reason = need("--reason") ? args.options.at("--reason") : std::string("admin grant");
      return kiln::admin_grant(*config, args.options.at("--account"), amount, reason);
    }
    if (sub != "create-account")
      return usage_error("unknown admin command '" + sub + "'", admin_help);
    auto args =
      parse_options(argc, argv, 3, {"--name", "--plan", "--credits", "--config", "--data-dir"});
    if (args.help) return std::printf("%s", admin_help), 0;
    if (!args.error.empty()) return usage_error(args.error, admin_help);
    if (!args.options.count("--name")) return usage_error("--name is required", admin_help);
    char* end = nullptr;
    std::string credits_text = args.options.count("--credits") ? args.options.at("--credits") : "0";
    long long credits = std::strtoll(credits_text.c_str(), &end, 10);
    if (*end != '\0' || credits < 0)
      return usage_error("--credits must be a whole number >= 0", admin_help);
    auto config = load(args);
    if (!config) return 2;
    std::string plan = args.options.count("--plan") ? args.options.at("--plan") : "free";
    return kiln::admin_create_account(*config, args.options.at("--name"), plan, credits);
  }
  return usage_error("unknown command '" + command + "'", main_help);
}
