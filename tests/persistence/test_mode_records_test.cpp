// The records of test keys and test jobs: the key's mode and the job's livemode round-trip, are
// written only when they are not the default, and records written before them read as live.
#include "persistence/records.hpp"

#include <catch2/catch.hpp>

using namespace kiln;

namespace {

api_key key_of(key_mode mode) {
  api_key k;
  k.id = "key_01JD";
  k.account_id = "acct_01JD";
  k.hash = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  k.prefix = mode == key_mode::test ? "kiln_test_abcd" : "kiln_sk_abcd";
  k.name = "ci";
  k.created_at_ms = 1700000000001;
  k.mode = mode;
  return k;
}

job job_of(bool livemode) {
  job j;
  j.id = "job_01JD";
  j.account_id = "acct_01JD";
  j.seq = 3;
  j.spec.type = "image";
  j.spec.model = "flux2-turbo";
  j.spec.prompt = "a kiln";
  j.spec.cost = 7;
  j.spec.livemode = livemode;
  j.status = job_status::succeeded;
  return j;
}

}  // namespace

TEST_CASE("a key's mode survives encode and decode, and is written only for a test key",
          "[persistence]") {
  auto test_bytes = records::encode(key_of(key_mode::test));
  CHECK(test_bytes.find(R"("mode":"test")") != std::string::npos);
  auto test_key = records::decode_key(test_bytes);
  REQUIRE(test_key);
  CHECK(test_key->mode == key_mode::test);
  CHECK(test_key->prefix == "kiln_test_abcd");

  auto live_bytes = records::encode(key_of(key_mode::live));
  CHECK(live_bytes.find("\"mode\"") == std::string::npos);
  auto live_key = records::decode_key(live_bytes);
  REQUIRE(live_key);
  CHECK(live_key->mode == key_mode::live);
}

TEST_CASE("a key record written before modes is a live key; an unknown mode does not decode",
          "[persistence]") {
  auto old = records::decode_key(
    R"({"id":"key_1","account_id":"acct_1","hash":"ab","prefix":"kiln_sk_abcd","name":"n",)"
    R"("created_at":1,"last_used_at":0,"revoked_at":0})");
  REQUIRE(old);
  CHECK(old->mode == key_mode::live);
  CHECK_FALSE(records::decode_key(R"({"id":"key_1","hash":"ab","mode":"staging"})"));
}

TEST_CASE("a job's livemode survives encode and decode, and is written only when false",
          "[persistence]") {
  auto test_bytes = records::encode(job_of(false));
  CHECK(test_bytes.find(R"("livemode":false)") != std::string::npos);
  auto test_job = records::decode_job(test_bytes);
  REQUIRE(test_job);
  CHECK_FALSE(test_job->spec.livemode);
  CHECK(test_job->spec.cost == 7);
  CHECK(records::encode(*test_job) == test_bytes);

  auto live_bytes = records::encode(job_of(true));
  CHECK(live_bytes.find("livemode") == std::string::npos);
  auto live_job = records::decode_job(live_bytes);
  REQUIRE(live_job);
  CHECK(live_job->spec.livemode);
}

TEST_CASE("a job record written before livemode is a live job", "[persistence]") {
  auto old = records::decode_job(R"({"id":"job_1","status":"queued","model":"flux2-turbo"})");
  REQUIRE(old);
  CHECK(old->spec.livemode);
}
