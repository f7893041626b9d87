// The upload actor with the real store and writer on a manual clock (issue 18): PUTs racing into
// one session get distinct file numbers and stop at max_files; a write that fails keeps nothing;
// the sweep deletes a session's files exactly once its expiry plus a day has passed.
#include <catch2/catch.hpp>

#include "tests/actors/actor_node.hpp"

#include "actors/upload_actor.hpp"
#include "config/limits.hpp"
#include "devices/media/media_render.hpp"
#include "persistence/records.hpp"

#include <filesystem>
#include <fstream>
#include <set>

using namespace std::chrono_literals;
using kiln::test::actor_node;

namespace kiln {
namespace {

struct upload_fixture {
  actor_node node;
  std::string dir = (node.root / "uploads").string();
  upload_actor uploads = spawn_uploads(*node.system, node.context, dir);
  std::string png = media::render_png({"an upload", 1, 24, 12, 0});
  int parts = 0;

  ~upload_fixture() { caf::anon_send_exit(uploads, caf::exit_reason::user_shutdown); }

  upload_session create(std::uint32_t max_files) {
    caf::scoped_actor self{*node.system};
    upload_session made;
    self
      ->request(uploads, 10s, upload_create_atom::value, std::string("acct_1"), max_files,
                std::string())
      .receive([&](upload_session& s) { made = std::move(s); },
               [&](caf::error& e) { FAIL(node.system->render(e)); });
    return made;
  }

  upload_part part_for(const upload_session& s) {
    std::filesystem::create_directories(dir + "/incoming");
    upload_part part;
    part.session_id = s.id;
    part.token = upload_token(s, node.context.url_signing_key);
    part.name = "p.png";
    part.declared_type = "image/png";
    part.temp_path = dir + "/incoming/" + std::to_string(parts++) + ".part";
    std::ofstream(part.temp_path, std::ios::binary) << png;
    part.bytes = png.size();
    return part;
  }

  std::variant<upload_session, caf::error> put(const upload_part& part) {
    caf::scoped_actor self{*node.system};
    std::variant<upload_session, caf::error> answer = caf::error{};
    self->request(uploads, 10s, upload_put_atom::value, part)
      .receive([&](upload_session& s) { answer = std::move(s); },
               [&](caf::error& e) { answer = std::move(e); });
    return answer;
  }

  std::uint64_t sweep() {
    caf::scoped_actor self{*node.system};
    std::uint64_t swept = 0;
    self->request(uploads, 10s, sweep_atom::value)
      .receive([&](std::uint64_t n) { swept = n; },
               [&](caf::error& e) { FAIL(node.system->render(e)); });
    return swept;
  }

  std::optional<upload_session> stored(const std::string& id) {
    auto bytes = test::stored(*node.db, column::uploads, id);
    if (!bytes) return std::nullopt;
    return records::decode_upload(*bytes);
  }

  std::size_t files_in(const std::string& sub) {
    std::error_code ec;
    std::size_t n = 0;
    for (std::filesystem::directory_iterator it(dir + "/" + sub, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
      ++n;
    return n;
  }
};

}  // namespace

TEST_CASE("PUTs racing into one session get distinct numbers and stop at max_files",
          "[actors][uploads]") {
  upload_fixture f;
  auto session = f.create(3);
  std::vector<upload_part> parts;
  for (int i = 0; i < 6; ++i) parts.push_back(f.part_for(session));
  caf::scoped_actor self{*f.node.system};
  for (const auto& part : parts) self->send(f.uploads, upload_put_atom::value, part);
  std::set<std::uint32_t> counts;
  int refused = 0;
  for (int i = 0; i < 6; ++i)
    self->receive(
      [&](upload_session& s) { counts.insert(static_cast<std::uint32_t>(s.files.size())); },
      [&](caf::error& e) {
        CHECK(has_code(e, error_code::invalid_request));
        ++refused;
      },
      caf::after(10s) >> [&] { FAIL("no answer"); });
  CHECK(counts == std::set<std::uint32_t>{1, 2, 3});
  CHECK(refused == 3);
  auto stored = f.stored(session.id);
  REQUIRE(stored);
  REQUIRE(stored->files.size() == 3);
  for (std::uint32_t i = 0; i < 3; ++i) CHECK(stored->files[i].index == i);
  CHECK(f.files_in(session.id) == 3);
  CHECK(f.files_in("incoming") == 0);
}

TEST_CASE("a PUT whose write fails keeps nothing, and the next one takes its number",
          "[actors][uploads]") {
  upload_fixture f;
  auto session = f.create(2);
  f.node.db->fail_next_writes(1);
  auto failed = f.put(f.part_for(session));
  REQUIRE(std::holds_alternative<caf::error>(failed));
  CHECK(has_code(std::get<caf::error>(failed), error_code::unavailable));
  CHECK(f.files_in(session.id) == 0);
  CHECK(f.files_in("incoming") == 0);
  CHECK(f.stored(session.id)->files.empty());
  auto ok = f.put(f.part_for(session));
  REQUIRE(std::holds_alternative<upload_session>(ok));
  CHECK(std::get<upload_session>(ok).files.at(0).file == "0.png");
  CHECK(std::get<upload_session>(ok).files.at(0).width == 24);
}

TEST_CASE("the sweep deletes a session's files once its expiry and a day have passed",
          "[actors][uploads]") {
  upload_fixture f;
  auto session = f.create(2);
  REQUIRE(std::holds_alternative<upload_session>(f.put(f.part_for(session))));
  auto kept = limits::upload_session_ttl + limits::upload_files_kept_after_expiry;
  f.node.time->advance(kept - 1ms);
  CHECK(f.sweep() == 0);
  CHECK(f.files_in(session.id) == 1);
  f.node.time->advance(1ms);
  CHECK(f.sweep() == 1);
  CHECK_FALSE(std::filesystem::exists(f.dir + "/" + session.id));
  auto stored = f.stored(session.id);
  REQUIRE(stored);
  CHECK(stored->files_deleted_at_ms == f.node.time->now_ms());
  CHECK(stored->files.size() == 1);
  CHECK_FALSE(test::stored(*f.node.db, column::upload_expiry, records::upload_expiry_key(*stored)));
  CHECK(f.sweep() == 0);
}

}  // namespace kiln
