// Creation of accounts and keys as values: ids, secrets and the stored hash of the key.
#include "models/account.hpp"

#include "base/assert.hpp"
#include "models/crypto.hpp"

namespace kiln {

std::string_view key_mode_name(key_mode mode) { return mode == key_mode::test ? "test" : "live"; }

std::optional<key_mode> parse_key_mode(std::string_view name) {
  if (name == "live") return key_mode::live;
  if (name == "test") return key_mode::test;
  return std::nullopt;
}

key_created new_key(const std::string& account_id, std::string name, std::int64_t now_ms,
                    std::string_view key_prefix, key_mode mode) {
  KILN_ASSERT_MSG(key_prefix.empty() || crypto::valid_key_prefix(key_prefix),
                  "a front end asks for a key prefix of a-z, 0-9 and _");
  // The core's own keys say their mode; a front end's prefix is its own to choose.
  std::string_view core_prefix = mode == key_mode::test ? "kiln_test_" : "kiln_sk_";
  key_created result;
  result.plain = key_prefix.empty() ? crypto::make_api_key(core_prefix)
                                    : crypto::make_prefixed_api_key(key_prefix);
  result.key.id = crypto::make_id("key_", now_ms);
  result.key.account_id = account_id;
  result.key.hash = crypto::sha256_hex(result.plain);
  result.key.prefix =
    result.plain.substr(0, key_prefix.empty() ? core_prefix.size() + 4 : key_prefix.size() + 8);
  result.key.name = std::move(name);
  result.key.created_at_ms = now_ms;
  result.key.mode = mode;
  KILN_ASSERT(result.plain.starts_with(key_prefix.empty() ? core_prefix : key_prefix));
  return result;
}

account_created new_account(std::string name, std::string plan, std::int64_t credits,
                            std::int64_t now_ms) {
  account_created result;
  result.account.id = crypto::make_id("acct_", now_ms);
  result.account.name = std::move(name);
  result.account.plan = std::move(plan);
  result.account.webhook_secret = crypto::make_webhook_secret();
  result.account.created_at_ms = now_ms;
  if (credits > 0) {
    credit_ledger ledger;
    result.initial_grant = ledger.grant(credits, "initial credits", now_ms);
    result.account.balance = ledger.balance();
  }
  auto key = new_key(result.account.id, "default", now_ms);
  result.key = std::move(key.key);
  result.api_key_plain = std::move(key.plain);
  return result;
}

std::vector<std::string> signing_secrets(const account& a, std::int64_t now_ms) {
  std::vector<std::string> secrets{a.webhook_secret};
  if (!a.previous_webhook_secret.empty() && now_ms < a.previous_secret_until_ms)
    secrets.push_back(a.previous_webhook_secret);
  return secrets;
}

}  // namespace kiln
