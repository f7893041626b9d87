// The device-link actor on the manual clock, with the real directory: a link's life (pending,
// approved, handed over once, claimed), expiry (and the revocation of a key nobody claimed),
// forgetting, codes as typed, and the bound on links held.
#include <catch2/catch.hpp>

#include "actors/device_link_actor.hpp"
#include "tests/actors/actor_node.hpp"

#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <variant>

using namespace kiln;
using namespace kiln::test;
using namespace std::chrono_literals;

namespace {

struct links_fixture {
  explicit links_fixture(device_link_options options = {})
    : links(spawn_device_links(*node.system, node.time, node.directory, options)) {}
  ~links_fixture() { caf::anon_send_exit(links, caf::exit_reason::user_shutdown); }

  actor_node node;
  device_link_actor links;

  std::variant<device_link_started, caf::error> start(const std::string& label) {
    caf::scoped_actor self{*node.system};
    std::variant<device_link_started, caf::error> answer = caf::error{};
    self->request(links, 10s, link_start_atom::value, label)
      .receive([&](device_link_started& value) { answer = std::move(value); },
               [&](caf::error& error) { answer = std::move(error); });
    return answer;
  }

  device_link_started started(const std::string& label = "laptop") {
    auto answer = start(label);
    REQUIRE(std::holds_alternative<device_link_started>(answer));
    return std::get<device_link_started>(answer);
  }

  template <class Answer, class... Args>
  Answer ask(Args... args) {
    caf::scoped_actor self{*node.system};
    Answer answer;
    std::string failure;
    self->request(links, 10s, args...)
      .receive([&](Answer& value) { answer = std::move(value); },
               [&](caf::error& error) { failure = node.system->render(error); });
    INFO(failure);
    REQUIRE(failure.empty());
    return answer;
  }

  device_link_view status(const std::string& user_code) {
    return ask<device_link_view>(link_status_atom::value, user_code);
  }
  device_link_approval approve(const std::string& user_code, device_link_key key) {
    return ask<device_link_approval>(link_approve_atom::value, user_code, std::move(key));
  }
  device_link_poll poll(const std::string& device_code) {
    return ask<device_link_poll>(link_poll_atom::value, device_code);
  }

  /// A real key of `account_id`, made through the directory, as the route mints one.
  device_link_key minted(const std::string& account_id, const std::string& label) {
    caf::scoped_actor self{*node.system};
    device_link_key key;
    self->request(node.directory, 10s, create_key_atom::value, account_id, label)
      .receive(
        [&](key_created& created) {
          key = device_link_key{created.plain, created.key.id, created.key.prefix, created.key.name,
                                account_id};
        },
        [&](caf::error& error) { FAIL(node.system->render(error)); });
    return key;
  }

  bool key_active(const std::string& account_id, const std::string& key_id) {
    caf::scoped_actor self{*node.system};
    bool active = false;
    self->request(node.directory, 10s, list_keys_atom::value, account_id)
      .receive(
        [&](std::vector<api_key>& keys) {
          for (const auto& k : keys) active = active || k.id == key_id;
        },
        [&](caf::error& error) { FAIL(node.system->render(error)); });
    return active;
  }
};

device_link_key fake_key(const std::string& plain = "kiln_sk_test") {
  return device_link_key{plain, "key_1", plain.substr(0, 12), "laptop", "acct_1"};
}

}  // namespace

TEST_CASE("A device link is pending, approved once, hands its key over once, then is claimed",
          "[actors][device_link]") {
  links_fixture f;
  auto link = f.started("Laptop agent");
  CHECK(std::regex_match(link.device_code, std::regex("ktd_[0-9a-f]{32}")));
  CHECK(std::regex_match(link.user_code,
                         std::regex("[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}")));
  CHECK(link.key_label == "Laptop agent");
  CHECK(link.expires_in_s == 600);
  CHECK(link.interval_s == 5);

  // The user code as a person may type it: lower case, without the dash.
  auto typed = link.user_code.substr(0, 4) + link.user_code.substr(5);
  for (auto& c : typed) c = static_cast<char>(c - 'A' + 'a');
  auto view = f.status(typed);
  CHECK(view.status == device_link_status::pending);
  CHECK(view.user_code == link.user_code);
  CHECK(view.key_label == "Laptop agent");
  f.node.time->advance(60s);
  CHECK(f.status(link.user_code).expires_in_s == 540);
  CHECK(f.poll(link.device_code).status == device_link_status::pending);

  auto approval = f.approve(link.user_code, fake_key("kiln_sk_first"));
  CHECK(approval.accepted);
  CHECK(approval.status == device_link_status::approved);
  auto again = f.approve(link.user_code, fake_key("kiln_sk_second"));
  CHECK_FALSE(again.accepted);
  CHECK(again.status == device_link_status::approved);
  CHECK(f.status(link.user_code).status == device_link_status::approved);

  auto handed = f.poll(link.device_code);
  CHECK(handed.status == device_link_status::approved);
  CHECK(handed.plain_key == "kiln_sk_first");
  CHECK(handed.key_prefix == "kiln_sk_firs");
  CHECK(handed.key_label == "laptop");
  auto later = f.poll(link.device_code);
  CHECK(later.status == device_link_status::claimed);
  CHECK(later.plain_key.empty());
  CHECK(f.status(link.user_code).status == device_link_status::claimed);
  CHECK_FALSE(f.approve(link.user_code, fake_key()).accepted);
}

TEST_CASE("Unknown and malformed codes are not found", "[actors][device_link]") {
  links_fixture f;
  auto link = f.started();
  CHECK(f.status("BCDF-GHJK").status == device_link_status::not_found);
  CHECK(f.status("hello").status == device_link_status::not_found);
  CHECK(f.status(link.user_code + "B").status == device_link_status::not_found);
  CHECK(f.poll("ktd_" + std::string(32, '0')).status == device_link_status::not_found);
  CHECK(f.poll(link.user_code).status == device_link_status::not_found);
  auto refused = f.approve("BCDF-GHJK", fake_key());
  CHECK_FALSE(refused.accepted);
  CHECK(refused.status == device_link_status::not_found);
  CHECK(f.poll(link.device_code).status == device_link_status::pending);
}

TEST_CASE("A link expires after 10 minutes, is remembered as expired, then forgotten",
          "[actors][device_link]") {
  links_fixture f;
  auto link = f.started();
  f.node.time->advance(10min - 1ms);
  CHECK(f.status(link.user_code).status == device_link_status::pending);
  f.node.time->advance(1ms);
  CHECK(f.status(link.user_code).status == device_link_status::expired);
  CHECK(f.poll(link.device_code).status == device_link_status::expired);
  auto refused = f.approve(link.user_code, fake_key());
  CHECK_FALSE(refused.accepted);
  CHECK(refused.status == device_link_status::expired);

  // Ten minutes after its expiry (and a sweep, due with any message) it is gone.
  f.node.time->advance(10min + 30s);
  CHECK(f.status(link.user_code).status == device_link_status::not_found);
  CHECK(f.poll(link.device_code).status == device_link_status::not_found);
}

TEST_CASE("A key approved but not claimed before the link expires is revoked, never handed out",
          "[actors][device_link]") {
  links_fixture f;
  auto account = f.node.create_account("pro", 10);
  auto link = f.started();
  auto key = f.minted(account.account.id, "laptop");
  REQUIRE(f.key_active(account.account.id, key.key_id));
  REQUIRE(f.approve(link.user_code, key).accepted);

  f.node.time->advance(10min);
  auto late = f.poll(link.device_code);
  CHECK(late.status == device_link_status::expired);
  CHECK(late.plain_key.empty());
  CHECK_FALSE(f.key_active(account.account.id, key.key_id));
  // The account's first key is untouched.
  CHECK(f.key_active(account.account.id, account.key.id));
}

TEST_CASE("The actor's sweep revokes an unclaimed key even when no one asks about its link",
          "[actors][device_link]") {
  links_fixture f;
  auto account = f.node.create_account("pro", 10);
  auto link = f.started();
  auto key = f.minted(account.account.id, "laptop");
  REQUIRE(f.approve(link.user_code, key).accepted);
  f.node.time->advance(10min + 30s);
  // Any message runs the sweep that is due; this one is about another code.
  CHECK(f.status("BCDF-GHJK").status == device_link_status::not_found);
  CHECK_FALSE(f.key_active(account.account.id, key.key_id));
  CHECK(f.status(link.user_code).status == device_link_status::expired);
}

TEST_CASE("Starts beyond the links held are 503 until expired or claimed ones make room",
          "[actors][device_link]") {
  device_link_options options;
  options.max_links = 3;
  links_fixture f(options);
  auto first = f.started();
  auto second = f.started();
  f.started();
  auto refused = f.start("one too many");
  REQUIRE(std::holds_alternative<caf::error>(refused));
  CHECK(to_api_error(std::get<caf::error>(refused)).code == error_code::unavailable);

  // A claimed link makes room.
  f.node.time->advance(2min);
  REQUIRE(f.approve(first.user_code, fake_key()).accepted);
  REQUIRE(f.poll(first.device_code).status == device_link_status::approved);
  auto fourth = f.started();
  CHECK(f.poll(first.device_code).status == device_link_status::not_found);
  REQUIRE(std::holds_alternative<caf::error>(f.start("full again")));

  // Expired links make room: the second and third expire, the fourth has 2 minutes left.
  f.node.time->advance(8min);
  f.started();
  f.started();
  CHECK(f.poll(second.device_code).status == device_link_status::not_found);
  CHECK(f.poll(fourth.device_code).status == device_link_status::pending);
  CHECK(std::holds_alternative<caf::error>(f.start("full")));
}

TEST_CASE("User codes are unique among the links held and use the unambiguous alphabet",
          "[actors][device_link]") {
  links_fixture f;
  std::set<std::string> codes;
  for (int i = 0; i < 200; ++i) codes.insert(f.started().user_code);
  CHECK(codes.size() == 200);
}
