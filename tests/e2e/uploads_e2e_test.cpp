// Upload sessions on the real binary (issue 18, seams S10 and S13): create a session, PUT a real
// PNG and a real WAV through its upload URL, read back what Kiln probed (exact size and
// duration) and the same bytes; and each refusal with nothing stored: a wrong or expired token
// (403), another account's session (404), bytes that are not their Content-Type (415), a file
// over `uploads.max_bytes` (413), more files than max_files (400). The sweep deletes the files
// of a session a day after it expired.
#include "tests/support/e2e.hpp"

#include "devices/media/audio_render.hpp"
#include "devices/media/media_render.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace kiln::test;

namespace {

constexpr std::int64_t hour_ms = 3'600'000;

json create_session(http_client& http, const std::string& key, const std::string& body = {}) {
  auto answer = body.empty() ? http.request("POST", "/v1/uploads", "", {bearer(key)})
                             : http.post("/v1/uploads", body, key);
  INFO(answer.body);
  REQUIRE(answer.status == 201);
  return json::parse(answer.body);
}

/// The upload URL's path and query ("/v1/uploads/ID/files?token=...") with the file's name.
std::string put_target(const json& session, const std::string& name) {
  auto url = session["upload_url"].str();
  return url.substr(url.find("/v1/uploads/")) + "&name=" + name;
}

http_response put_file(http_client& http, const std::string& target, const std::string& bytes,
                       const std::string& content_type) {
  return http.request("PUT", target, bytes, {{"Content-Type", content_type}});
}

std::string path_of(const std::string& url) { return url.substr(url.find("/v1/uploads/")); }

std::size_t stored_files(const test_server& server, const std::string& id) {
  std::error_code ec;
  std::size_t count = 0;
  for (std::filesystem::directory_iterator it(server.data_dir() + "/uploads/" + id, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++count;
  return count;
}

std::size_t incoming_files(const test_server& server) {
  std::error_code ec;
  std::size_t count = 0;
  for (std::filesystem::directory_iterator it(server.data_dir() + "/uploads/incoming", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++count;
  return count;
}

}  // namespace

TEST_CASE("an upload session takes a PNG and a WAV, probes them exactly and serves them back",
          "[e2e][uploads]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http);
  auto session = create_session(http, account.key, R"({"max_files":2,"purpose":"edit"})");
  auto id = session["id"].str();
  CHECK(id.rfind("upl_", 0) == 0);
  CHECK(session["object"].str() == "upload");
  CHECK(session["status"].str() == "open");
  CHECK(session["max_files"].integer() == 2);
  CHECK(session["files"].size() == 0);
  CHECK(session["upload_url"].str().rfind("http://", 0) == 0);
  CHECK(session["accepted_types"].size() >= 8);

  kiln::media::render_request picture{"a red door", 7, 96, 64, 0};
  auto png = kiln::media::render_png(picture);
  auto wav = kiln::media::render_wav(picture, 1500);
  auto put = put_file(http, put_target(session, "door.png"), png, "image/png");
  INFO(put.body);
  REQUIRE(put.status == 201);
  put = put_file(http, put_target(session, "voice.wav"), wav, "audio/wav");
  REQUIRE(put.status == 201);

  auto read = http.get("/v1/uploads/" + id, account.key);
  REQUIRE(read.status == 200);
  auto shown = json::parse(read.body);
  INFO(read.body);
  CHECK(shown["status"].str() == "complete");
  CHECK(shown["billing_readiness"].str() == "exact");
  REQUIRE(shown["files"].size() == 2);
  CHECK(shown["/files/0/name"].str() == "door.png");
  CHECK(shown["/files/0/content_type"].str() == "image/png");
  CHECK(shown["/files/0/bytes"].integer() == static_cast<std::int64_t>(png.size()));
  CHECK(shown["/files/0/width"].integer() == 96);
  CHECK(shown["/files/0/height"].integer() == 64);
  CHECK(shown["/files/0/probe"].str() == "exact");
  CHECK(shown["/files/1/content_type"].str() == "audio/wav");
  CHECK(shown["/files/1/duration_seconds"].number() == 1.5);
  CHECK_FALSE(shown["files"][1].has("width"));

  auto served = http.get(path_of(shown["/files/0/url"].str()));
  CHECK(served.status == 200);
  CHECK(served.header("Content-Type") == "image/png");
  CHECK(served.body == png);
  CHECK(http.get(path_of(shown["/files/1/url"].str())).body == wav);
  auto tampered = path_of(shown["/files/1/url"].str());
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  CHECK(http.get(tampered).status == 403);

  // Full: a third file is refused and not stored.
  auto third = put_file(http, put_target(session, "more.png"), png, "image/png");
  CHECK(third.status == 400);
  CHECK(json::parse(third.body)["/error/code"].str() == "invalid_request");
  CHECK(stored_files(server, id) == 2);
  CHECK(incoming_files(server) == 0);
}

TEST_CASE("uploads refuse wrong tokens, other accounts, lying types and oversized files",
          "[e2e][uploads]") {
  test_server server(sim_devices,
                     R"("uploads":{"max_bytes":1048576},"faults":{"clock_offset_ms":0})");
  auto& http = server.http();
  auto owner = create_account(http);
  auto other = create_account(http, "pro", 1000, "other");
  auto session = create_session(http, owner.key);
  auto id = session["id"].str();
  kiln::media::render_request picture{"a blue boat", 3, 40, 30, 0};
  auto png = kiln::media::render_png(picture);

  SECTION("no key or another account's key cannot read the session") {
    CHECK(http.get("/v1/uploads/" + id).status == 401);
    auto foreign = http.get("/v1/uploads/" + id, other.key);
    CHECK(foreign.status == 404);
    CHECK(json::parse(foreign.body)["/error/code"].str() == "not_found");
    CHECK(http.get("/v1/uploads/upl_nothing", owner.key).status == 404);
  }
  SECTION("a wrong token is 403 and an unknown session 404; nothing is stored") {
    auto target = put_target(session, "a.png");
    auto wrong = target;
    wrong[wrong.find("token=") + 6] = wrong[wrong.find("token=") + 6] == 'a' ? 'b' : 'a';
    auto answer = put_file(http, wrong, png, "image/png");
    CHECK(answer.status == 403);
    CHECK(json::parse(answer.body)["/error/code"].str() == "forbidden");
    CHECK(put_file(http, "/v1/uploads/upl_nothing/files?token=00", png, "image/png").status == 404);
    CHECK(stored_files(server, id) == 0);
  }
  SECTION("bytes that are not what the Content-Type says are 415, naming what they are") {
    auto answer = put_file(http, put_target(session, "a.wav"), png, "audio/wav");
    CHECK(answer.status == 415);
    CHECK(json::parse(answer.body)["/error/code"].str() == "unsupported_media_type");
    CHECK(answer.body.find("image/png") != std::string::npos);
    CHECK(put_file(http, put_target(session, "a.txt"), "hello", "text/plain").status == 415);
    CHECK(stored_files(server, id) == 0);
    CHECK(incoming_files(server) == 0);
  }
  SECTION("a file over uploads.max_bytes is 413 in the core's envelope; nothing is kept") {
    std::string big = png + std::string(1024 * 1024, 'x');
    auto answer = put_file(http, put_target(session, "big.png"), big, "image/png");
    CHECK(answer.status == 413);
    CHECK(json::parse(answer.body)["/error/code"].str() == "payload_too_large");
    CHECK(stored_files(server, id) == 0);
    CHECK(incoming_files(server) == 0);
    // The server still serves, and the session still takes a file within the limit.
    CHECK(put_file(server.http(), put_target(session, "ok.png"), png, "image/png").status == 201);
  }
  SECTION("a token past the session's hour is 403, and a day later the files are deleted") {
    REQUIRE(put_file(http, put_target(session, "a.png"), png, "image/png").status == 201);
    REQUIRE(stored_files(server, id) == 1);
    server.process().kill();
    set_clock_offset(server, hour_ms + 60'000);
    server.restart();
    auto late = put_file(server.http(), put_target(session, "b.png"), png, "image/png");
    CHECK(late.status == 403);
    auto read = json::parse(server.http().get("/v1/uploads/" + id, owner.key).body);
    CHECK(read["status"].str() == "complete");
    CHECK(read["files"].size() == 1);
    CHECK(stored_files(server, id) == 1);

    server.process().kill();
    set_clock_offset(server, 26 * hour_ms);
    server.restart();
    REQUIRE(eventually([&] {
      auto now = json::parse(server.http().get("/v1/uploads/" + id, owner.key).body);
      return now.has("files_deleted_at");
    }));
    CHECK(stored_files(server, id) == 0);
    CHECK_FALSE(std::filesystem::exists(server.data_dir() + "/uploads/" + id));
    auto gone = json::parse(server.http().get("/v1/uploads/" + id, owner.key).body);
    CHECK(gone["files"].size() == 1);
    CHECK_FALSE(gone["files"][0].has("url"));
  }
}

TEST_CASE("a 20 MiB upload streams to disk and its bytes round-trip", "[e2e][uploads]") {
  test_server server;
  auto account = create_account(server.http());
  auto session = create_session(server.http(), account.key);
  auto wav = kiln::media::render_wav({"a long hum", 1, 16, 16, 0}, 600'000);  // 28.8 MB max
  wav.resize(std::min<std::size_t>(wav.size(), 20 * 1024 * 1024));
  auto put = put_file(server.http(), put_target(session, "hum.wav"), wav, "audio/wav");
  INFO(put.body);
  REQUIRE(put.status == 201);
  auto shown = json::parse(put.body);
  CHECK(shown["/files/0/bytes"].integer() == static_cast<std::int64_t>(wav.size()));
  auto served = server.http().get(path_of(shown["/files/0/url"].str()));
  CHECK(served.status == 200);
  CHECK(served.body == wav);
}

TEST_CASE("a chunked upload is cut off at the limit and a client expecting 100 gets it",
          "[e2e][uploads]") {
  test_server server(sim_devices, R"("uploads":{"max_bytes":65536})");
  auto account = create_account(server.http());
  auto session = create_session(server.http(), account.key);
  auto target = put_target(session, "a.png");
  auto png = kiln::media::render_png({"a kite", 2, 16, 16, 0});

  SECTION("a chunked body crossing uploads.max_bytes is 413; nothing is kept") {
    std::string head = "PUT " + target +
                       " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n";
    std::string chunk(16 * 1024, 'x');
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    std::string body;
    for (int i = 0; i < 6; ++i) body += size + chunk + "\r\n";  // 96 KiB in all
    body += "0\r\n\r\n";
    auto answer = send_raw(server.http().port(), head + body);
    CHECK(answer.status == 413);
    CHECK(json::parse(answer.body)["/error/code"].str() == "payload_too_large");
    CHECK(incoming_files(server) == 0);
    CHECK(stored_files(server, session["id"].str()) == 0);
  }
  SECTION("Expect: 100-continue is answered before the body, then the upload is stored") {
    raw_connection raw(server.http().port());
    REQUIRE(raw.send("PUT " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png" +
                     "\r\nExpect: 100-continue\r\nContent-Length: " + std::to_string(png.size()) +
                     "\r\n\r\n"));
    auto interim = raw.read_response();
    CHECK(interim.status == 100);
    REQUIRE(raw.send(png));
    auto final_answer = raw.read_response();
    INFO(final_answer.body);
    CHECK(final_answer.status == 201);
    CHECK(json::parse(final_answer.body)["/files/0/width"].integer() == 16);
  }
}
