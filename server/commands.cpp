#include "server/commands.hpp"

#include "auth/operator_token.hpp"
#include "server/blocking_db.hpp"
#include "server/config.hpp"
#include "server/log.hpp"
#include "server/jobs_process.hpp"
#include "server/server.hpp"
#include "storage/embedded.hpp"
#include "storage/migrator.hpp"
#include "storage/operator_tokens.hpp"

#include <algorithm>
#include <cctype>
#include <iostream>
#include <optional>

namespace fleetcomm::server {
namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  fleetcomm serve --config FILE\n"
    "  fleetcomm migrate --config FILE\n"
    "  fleetcomm jobs --config FILE      (the pipelines, with only the ops listener)\n"
    "  fleetcomm token create --config FILE --role ROLE [--account ID]... [--name NAME]\n"
    "  fleetcomm token list --config FILE\n"
    "  fleetcomm token revoke --config FILE --id N\n"
    "roles: admin, account_manager (needs --account), auditor, consumer\n"
    "every config key can also be set by environment, e.g. FLEETCOMM_DATABASE_URL\n";

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Options {
  std::optional<std::string> config;
  std::optional<std::string> role;
  std::optional<std::string> name;
  std::vector<std::string> accounts;
  std::optional<long long> id;
};

Options ParseOptions(const std::vector<std::string>& args, std::size_t first, bool token_options) {
  Options options;
  for (std::size_t i = first; i < args.size(); ++i) {
    const std::string& flag = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw UsageError(flag + " needs a value");
      return args[++i];
    };
    if (flag == "--config") {
      options.config = value();
    } else if (token_options && flag == "--role") {
      options.role = value();
    } else if (token_options && flag == "--account") {
      options.accounts.push_back(value());
    } else if (token_options && flag == "--name") {
      options.name = value();
    } else if (token_options && flag == "--id") {
      const std::string text = value();
      if (text.empty() || text.size() > 18 || !std::all_of(text.begin(), text.end(), ::isdigit)) {
        throw UsageError("--id takes a token id (a number, as token list prints it)");
      }
      options.id = std::stoll(text);
    } else {
      throw UsageError("unknown option " + flag);
    }
  }
  if (!options.config) throw UsageError("--config FILE is required");
  return options;
}

// ac_ followed by 1..64 of [A-Za-z0-9_-].
bool IsAccountId(const std::string& id) {
  if (id.size() < 4 || id.size() > 67 || id.rfind("ac_", 0) != 0) return false;
  return std::all_of(id.begin() + 3, id.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
}

Config LoadAndApplyLogLevel(const std::string& path) {
  Config config = LoadConfig(path);
  LogLevel level = LogLevel::kInfo;
  ParseLogLevel(config.log_level, level);
  SetLogLevel(level);
  return config;
}


int Migrate(const Config& config) {
  storage::DbPool pool({config.DatabaseConnInfo(), 1, 4});
  auto applied = RunDbBlocking<std::vector<int>>(pool, [](pqxx::connection_base& conn) {
    return storage::ApplyMigrations(conn, storage::EmbeddedMigrations());
  });
  if (!applied) {
    std::cerr << "fleetcomm migrate: " << applied.error().detail << "\n";
    return 1;
  }
  const auto expected = storage::EmbeddedMigrations().back().version;
  std::cerr << "fleetcomm migrate: applied " << applied->size() << " migration(s); schema at version " << expected
            << "\n";
  return 0;
}

int CreateToken(const Config& config, const Options& options) {
  if (!options.role) throw UsageError("--role is required");
  const auto role = auth::ParseRole(*options.role);
  if (!role) throw UsageError("unknown role '" + *options.role + "'");
  if (*role == auth::Role::kAccountManager && options.accounts.empty()) {
    throw UsageError("an account_manager token needs at least one --account");
  }
  if (*role != auth::Role::kAccountManager && !options.accounts.empty()) {
    throw UsageError("--account applies to account_manager tokens only");
  }
  for (const auto& account : options.accounts) {
    if (!IsAccountId(account)) throw UsageError("'" + account + "' is not an account id (ac_...)");
  }
  const std::string name = options.name.value_or("");
  if (name.size() > 200) throw UsageError("--name is longer than 200 characters");

  const std::string token = auth::GenerateOperatorToken();
  const std::string digest = auth::OperatorTokenDigest(token);
  storage::DbPool pool({config.DatabaseConnInfo(), 1, 4});
  auto inserted = RunDbBlocking<long long>(pool, [&](pqxx::connection_base& conn) {
    return storage::InsertOperatorToken(conn, digest, name, std::string(auth::RoleName(*role)), options.accounts);
  });
  if (!inserted) {
    std::cerr << "fleetcomm token create: " << inserted.error().detail << "\n";
    return 1;
  }
  // The token goes to stdout and nowhere else; only its digest was stored.
  std::cout << token << std::endl;
  return 0;
}

// One line per token, tab-separated: id, role, name, accounts (comma-separated), created,
// revoked (or "-"). Secrets are never stored, so they cannot be listed.
int ListTokens(const Config& config) {
  storage::DbPool pool({config.DatabaseConnInfo(), 1, 4});
  auto tokens = RunDbBlocking<std::vector<storage::OperatorTokenListing>>(
      pool, [](pqxx::connection_base& conn) { return storage::ListOperatorTokens(conn); });
  if (!tokens) {
    std::cerr << "fleetcomm token list: " << tokens.error().detail << "\n";
    return 1;
  }
  for (const auto& listing : *tokens) {
    std::string accounts;
    for (const auto& account : listing.token.account_ids) accounts += (accounts.empty() ? "" : ",") + account;
    std::cout << listing.token.id << '\t' << listing.token.role << '\t' << listing.token.name << '\t'
              << (accounts.empty() ? "-" : accounts) << '\t' << listing.created_at << '\t'
              << listing.revoked_at.value_or("-") << '\n';
  }
  return 0;
}

int RevokeToken(const Config& config, const Options& options) {
  if (!options.id) throw UsageError("--id is required");
  storage::DbPool pool({config.DatabaseConnInfo(), 1, 4});
  const long long id = *options.id;
  auto found = RunDbBlocking<bool>(pool, [id](pqxx::connection_base& conn) { return storage::RevokeOperatorToken(conn, id); });
  if (!found) {
    std::cerr << "fleetcomm token revoke: " << found.error().detail << "\n";
    return 1;
  }
  if (!*found) {
    std::cerr << "fleetcomm token revoke: no token has id " << id << "\n";
    return 1;
  }
  Log(LogLevel::kInfo, "operator_token_revoked", {{"token_id", id}});
  return 0;
}

}  // namespace

int RunCommandLine(const std::vector<std::string>& args) {
  try {
    if (args.size() < 2 || args[1] == "--help" || args[1] == "-h") {
      std::cerr << kUsage;
      return args.size() < 2 ? 2 : 0;
    }
    const std::string& command = args[1];
    if (command == "serve") return RunServer(LoadAndApplyLogLevel(*ParseOptions(args, 2, false).config));
    if (command == "jobs") return RunJobs(LoadAndApplyLogLevel(*ParseOptions(args, 2, false).config));
    if (command == "migrate") return Migrate(LoadAndApplyLogLevel(*ParseOptions(args, 2, false).config));
    if (command == "token" && args.size() >= 3 && args[2] == "create") {
      const Options options = ParseOptions(args, 3, true);
      return CreateToken(LoadAndApplyLogLevel(*options.config), options);
    }
    if (command == "token" && args.size() >= 3 && args[2] == "list") {
      return ListTokens(LoadAndApplyLogLevel(*ParseOptions(args, 3, false).config));
    }
    if (command == "token" && args.size() >= 3 && args[2] == "revoke") {
      const Options options = ParseOptions(args, 3, true);
      return RevokeToken(LoadAndApplyLogLevel(*options.config), options);
    }
    throw UsageError("unknown command '" + command + "'");
  } catch (const UsageError& e) {
    std::cerr << "fleetcomm: " << e.what() << "\n" << kUsage;
    return 2;
  } catch (const ConfigError& e) {
    std::cerr << "fleetcomm: configuration error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "fleetcomm: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace fleetcomm::server
