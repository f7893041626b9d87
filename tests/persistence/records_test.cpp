// Unit tests for record encoding: jobs, accounts and keys round-trip every field, garbage decodes
// to nothing, and listing keys sort by creation sequence within one account only.
#include <catch2/catch.hpp>

#include "persistence/records.hpp"

#include <algorithm>
#include <string>
#include <vector>

using kiln::job;
using kiln::job_status;
namespace records = kiln::records;

namespace {

job full_job() {
  job v;
  v.id = "job_01JD000000000000000000000";
  v.account_id = "acct_01JD00000000000000000000";
  v.seq = 4242;
  v.spec.type = "image";
  v.spec.model = "seedream";
  v.spec.prompt = "a \"quoted\" prompt\nwith \\ and caf\xC3\xA9 \xF0\x9F\x98\x80 and \x01";
  v.spec.n = 3;
  v.spec.params.width = 1024;
  v.spec.params.height = 768;
  v.spec.params.duration_seconds = 10;
  v.spec.params.seed = 9223372036854775807ull;
  v.spec.metadata =
    R"({"zeta":"last letter","alpha":1.5,"mid":[true,null,{"deep":"cafÃ©"}],"n":-7})";
  v.spec.webhook_url = "https://example.com/hook?a=1&b=2";
  v.spec.cost = 9;
  v.spec.inputs = {{"source_image", "upl_01", 2, "image/png", 4096, 96, 64, 0},
                   {"reference_audio", "upl_02", 0, "audio/wav", 48044, 0, 0, 1500000}};
  v.status = job_status::failed;
  v.progress = 42;
  v.credits_held = 9;
  v.credits_used = 0;
  v.credits_refunded = 9;
  v.device = "gpu-1";
  v.attempts = 3;
  v.outputs = {{"job_1-0.png", "image/png", 12345}, {"job_1-1.gif", "image/gif", 4000000000ull}};
  v.error = kiln::job_error{"device_error", "the job failed on 3 attempts"};
  v.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  v.created_at_ms = 1700000000001;
  v.started_at_ms = 1700000000002;
  v.completed_at_ms = 1700000000003;
  v.canceled_at_ms = 1700000000004;
  return v;
}

}  // namespace

TEST_CASE("a job survives encode and decode with every field intact", "[persistence]") {
  const job original = full_job();
  auto decoded = records::decode_job(records::encode(original));
  REQUIRE(decoded.has_value());
  const job& v = *decoded;
  CHECK(v.id == original.id);
  CHECK(v.account_id == original.account_id);
  CHECK(v.seq == original.seq);
  CHECK(v.spec.type == original.spec.type);
  CHECK(v.spec.model == original.spec.model);
  CHECK(v.spec.prompt == original.spec.prompt);
  CHECK(v.spec.n == original.spec.n);
  CHECK(v.spec.params.width == original.spec.params.width);
  CHECK(v.spec.params.height == original.spec.params.height);
  CHECK(v.spec.params.duration_seconds == original.spec.params.duration_seconds);
  CHECK(v.spec.params.seed == original.spec.params.seed);
  CHECK(v.spec.metadata == original.spec.metadata);  // same JSON, same key order
  CHECK(v.spec.webhook_url == original.spec.webhook_url);
  CHECK(v.spec.cost == original.spec.cost);
  REQUIRE(v.spec.inputs.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& got = v.spec.inputs[i];
    const auto& want = original.spec.inputs[i];
    CHECK(got.role == want.role);
    CHECK(got.upload_id == want.upload_id);
    CHECK(got.file == want.file);
    CHECK(got.content_type == want.content_type);
    CHECK(got.bytes == want.bytes);
    CHECK(got.width == want.width);
    CHECK(got.height == want.height);
    CHECK(got.duration_us == want.duration_us);
  }
  CHECK(v.status == original.status);
  CHECK(v.progress == original.progress);
  CHECK(v.credits_held == original.credits_held);
  CHECK(v.credits_used == original.credits_used);
  CHECK(v.credits_refunded == original.credits_refunded);
  CHECK(v.device == original.device);
  CHECK(v.attempts == original.attempts);
  REQUIRE(v.outputs.size() == original.outputs.size());
  for (std::size_t i = 0; i < v.outputs.size(); ++i) {
    CHECK(v.outputs[i].file == original.outputs[i].file);
    CHECK(v.outputs[i].content_type == original.outputs[i].content_type);
    CHECK(v.outputs[i].bytes == original.outputs[i].bytes);
  }
  REQUIRE(v.error.has_value());
  CHECK(v.error->code == original.error->code);
  CHECK(v.error->message == original.error->message);
  CHECK(v.trace_id == original.trace_id);
  CHECK(v.created_at_ms == original.created_at_ms);
  CHECK(v.started_at_ms == original.started_at_ms);
  CHECK(v.completed_at_ms == original.completed_at_ms);
  CHECK(v.canceled_at_ms == original.canceled_at_ms);
}

TEST_CASE("every job status round-trips", "[persistence]") {
  for (auto status : {job_status::queued, job_status::processing, job_status::succeeded,
                      job_status::failed, job_status::canceled}) {
    job v = full_job();
    v.status = status;
    auto decoded = records::decode_job(records::encode(v));
    REQUIRE(decoded.has_value());
    CHECK(decoded->status == status);
  }
}

TEST_CASE("a job without error, outputs or metadata decodes without them", "[persistence]") {
  job v = full_job();
  v.error.reset();
  v.outputs.clear();
  v.spec.metadata.clear();
  v.queue_position = 7;  // live only: never stored
  auto decoded = records::decode_job(records::encode(v));
  REQUIRE(decoded.has_value());
  CHECK_FALSE(decoded->error.has_value());
  CHECK(decoded->outputs.empty());
  CHECK(decoded->spec.metadata.empty());
  CHECK_FALSE(decoded->queue_position.has_value());
}

TEST_CASE("a job written when metadata held string pairs decodes them as an object",
          "[persistence]") {
  job v = full_job();
  v.spec.metadata.clear();
  auto record = records::encode(v);
  REQUIRE(record.back() == '}');
  record.pop_back();
  record += R"(,"metadata":[["zeta","last"],["alpha","a \"q\""]]})";
  auto decoded = records::decode_job(record);
  REQUIRE(decoded.has_value());
  CHECK(decoded->spec.metadata == R"({"zeta":"last","alpha":"a \"q\""})");
}

TEST_CASE("an account survives encode and decode with every field intact", "[persistence]") {
  kiln::account original;
  original.id = "acct_01JD";
  original.name = "Ada \"the\" Lovelace";
  original.plan = "enterprise";
  original.webhook_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  original.balance = {1000000000000, 250, 3, 1000000000253};
  original.created_at_ms = 1700000000999;
  auto decoded = records::decode_account(records::encode(original));
  REQUIRE(decoded.has_value());
  CHECK(decoded->id == original.id);
  CHECK(decoded->name == original.name);
  CHECK(decoded->plan == original.plan);
  CHECK(decoded->webhook_secret == original.webhook_secret);
  CHECK(decoded->balance.available == original.balance.available);
  CHECK(decoded->balance.held == original.balance.held);
  CHECK(decoded->balance.used == original.balance.used);
  CHECK(decoded->balance.granted == original.balance.granted);
  CHECK(decoded->created_at_ms == original.created_at_ms);
}

TEST_CASE("an API key survives encode and decode with every field intact", "[persistence]") {
  kiln::api_key original;
  original.id = "key_01JD";
  original.account_id = "acct_01JD";
  original.hash = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  original.prefix = "kiln_sk_abcd";
  original.name = "ci \xE2\x82\xAC";
  original.created_at_ms = 1700000000001;
  original.last_used_at_ms = 1700000000002;
  original.revoked_at_ms = 1700000000003;
  auto decoded = records::decode_key(records::encode(original));
  REQUIRE(decoded.has_value());
  CHECK(decoded->id == original.id);
  CHECK(decoded->account_id == original.account_id);
  CHECK(decoded->hash == original.hash);
  CHECK(decoded->prefix == original.prefix);
  CHECK(decoded->name == original.name);
  CHECK(decoded->created_at_ms == original.created_at_ms);
  CHECK(decoded->last_used_at_ms == original.last_used_at_ms);
  CHECK(decoded->revoked_at_ms == original.revoked_at_ms);
}

TEST_CASE("garbage bytes decode to nothing", "[persistence]") {
  for (std::string bytes :
       {std::string(), std::string("not json"), std::string("[1,2,3]"), std::string("{\"id\":"),
        std::string("\xff\xfe\x00", 3), std::string("42")}) {
    INFO("bytes: " << bytes);
    CHECK_FALSE(records::decode_job(bytes).has_value());
    CHECK_FALSE(records::decode_account(bytes).has_value());
    CHECK_FALSE(records::decode_key(bytes).has_value());
  }
}

TEST_CASE("records missing their identity decode to nothing", "[persistence]") {
  CHECK_FALSE(records::decode_job("{}").has_value());
  CHECK_FALSE(records::decode_job(R"({"id":"job_1"})").has_value());  // no status
  CHECK_FALSE(records::decode_job(R"({"id":"job_1","status":"exploded"})").has_value());
  CHECK_FALSE(records::decode_account(R"({"name":"x"})").has_value());
  CHECK_FALSE(records::decode_key(R"({"id":"key_1"})").has_value());  // no hash
}

TEST_CASE("account_job_key sorts by seq and stays inside its account's prefix", "[persistence]") {
  const std::vector<std::uint64_t> seqs{1, 2, 9, 10, 15, 16, 255, 256, 4096, 65536, 1ull << 40};
  std::vector<std::string> keys;
  for (auto seq : seqs) keys.push_back(records::account_job_key("acct_1", seq));
  CHECK(std::is_sorted(keys.begin(), keys.end()));
  CHECK(std::adjacent_find(keys.begin(), keys.end()) == keys.end());
  for (const auto& key : keys) {
    CHECK(key.rfind(records::account_job_prefix("acct_1"), 0) == 0);
    CHECK(key.rfind(records::account_job_prefix("acct_10"), 0) != 0);
  }
  CHECK(records::account_job_key("acct_10", 1).rfind(records::account_job_prefix("acct_1"), 0) !=
        0);
}

TEST_CASE("a new job's batch writes the job and its listing entry; an update only the job",
          "[persistence]") {
  job v = full_job();
  auto fresh = records::job_batch(v, nullptr);
  bool has_job = false, has_index = false;
  for (const auto& op : fresh.ops) {
    if (op.family == kiln::column::jobs && op.key == v.id)
      has_job = records::decode_job(op.value).has_value();
    if (op.family == kiln::column::account_jobs &&
        op.key == records::account_job_key(v.account_id, v.seq))
      has_index = op.value == v.id;
  }
  CHECK(has_job);
  CHECK(has_index);
  auto same = records::job_batch(v, &v);
  REQUIRE(same.ops.size() == 1);  // the record alone: its status and listing did not change
  CHECK(same.ops[0].family == kiln::column::jobs);
}

TEST_CASE("idempotency bindings round-trip with their job or grant and expiry keys sort by time",
          "[persistence]") {
  kiln::idempotency_record bound_job;
  bound_job.fingerprint = std::string(64, 'a');
  bound_job.expires_at_ms = 1'767'312'000'123;
  bound_job.created = full_job();
  auto decoded = records::decode_idempotency_record(records::encode(bound_job));
  REQUIRE(decoded);
  CHECK(decoded->fingerprint == bound_job.fingerprint);
  CHECK(decoded->expires_at_ms == bound_job.expires_at_ms);
  REQUIRE(decoded->created);
  CHECK(records::encode(*decoded->created) == records::encode(full_job()));
  CHECK_FALSE(decoded->granted);

  kiln::idempotency_record bound_grant;
  bound_grant.fingerprint = "f";
  bound_grant.expires_at_ms = 7;
  bound_grant.granted =
    kiln::ledger_entry{"led_1", 3, 5, kiln::ledger_kind::grant, 25, "", "", "top-up", 40};
  decoded = records::decode_idempotency_record(records::encode(bound_grant));
  REQUIRE(decoded);
  REQUIRE(decoded->granted);
  CHECK(decoded->granted->id == "led_1");
  CHECK(decoded->granted->amount == 25);
  CHECK(decoded->granted->reason == "top-up");
  CHECK_FALSE(decoded->created);

  for (const char* garbage :
       {"", "f\n7\n", "f\nx\njob\n{}", "f\n7\nother\n{}", "f\n7\njob\nnot json"})
    CHECK_FALSE(records::decode_idempotency_record(garbage));

  auto early = records::idempotency_expiry_key("acct_1", 1000, "key/with/slashes");
  auto late = records::idempotency_expiry_key("acct_1", 1001, "a");
  CHECK(early < late);
  std::int64_t expires = 0;
  std::string key;
  REQUIRE(records::parse_idempotency_expiry(
    std::string_view(early).substr(records::account_job_prefix("acct_1").size()), expires, key));
  CHECK(expires == 1000);
  CHECK(key == "key/with/slashes");
  CHECK_FALSE(records::parse_idempotency_expiry("zz", expires, key));
}

TEST_CASE(
  "deliveries round-trip with every attempt and sit in the pending index only while "
  "pending",
  "[persistence]") {
  kiln::delivery d;
  d.id = "dlv_1";
  d.event_id = "evt_1";
  d.event = "job.succeeded";
  d.job_id = "job_1";
  d.account_id = "acct_1";
  d.url = "https://hooks.example.com/a?b=\"c\"";
  d.trace_id = "0123456789abcdef0123456789abcdef";
  d.created_at_ms = 1000;
  d.next_attempt_at_ms = 31000;
  d.attempts = {{1, 1000, 503, "", 12, 31000}, {2, 31000, 0, "connection refused", 1, 0}};
  auto decoded = records::decode_delivery(records::encode(d));
  REQUIRE(decoded);
  CHECK(records::encode(*decoded) == records::encode(d));
  REQUIRE(decoded->attempts.size() == 2);
  CHECK(decoded->attempts[1].error == "connection refused");
  CHECK(decoded->attempts[0].next_retry_at_ms == 31000);

  kiln::write_batch pending;
  records::put_delivery(pending, d);
  REQUIRE(pending.ops.size() == 2);
  CHECK(pending.ops[1].family == kiln::column::pending_deliveries);
  CHECK_FALSE(pending.ops[1].erase);
  d.status = kiln::delivery_status::delivered;
  kiln::write_batch done;
  records::put_delivery(done, d);
  REQUIRE(done.ops.size() == 2);
  CHECK(done.ops[1].erase);
  CHECK(done.ops[1].key == "job_1/dlv_1");
  CHECK_FALSE(records::decode_delivery("{}"));
}

TEST_CASE("an upload session survives encode and decode with every field intact",
          "[persistence][uploads]") {
  using kiln::column;
  kiln::upload_session s;
  s.id = "upl_01JD0000000000000000000000";
  s.account_id = "acct_1";
  s.purpose = "edit \"this\"";
  s.max_files = 3;
  s.max_bytes = 1048576;
  s.created_at_ms = 1'700'000'000'000;
  s.expires_at_ms = 1'700'003'600'000;
  s.files.push_back({0, "a.png", "0.png", "image/png", 1234, 96, 64, 0, true, 1'700'000'000'500});
  s.files.push_back({1, "b.mp3", "1.mp3", "audio/mpeg", 99, 0, 0, 0, false, 1'700'000'000'900});
  auto bytes = records::encode(s);
  auto back = records::decode_upload(bytes);
  REQUIRE(back);
  CHECK(records::encode(*back) == bytes);
  CHECK(back->purpose == s.purpose);
  REQUIRE(back->files.size() == 2);
  CHECK(back->files[0].width == 96);
  CHECK(back->files[0].probed);
  CHECK_FALSE(back->files[1].probed);
  CHECK(back->expires_at_ms == s.expires_at_ms);
  CHECK_FALSE(records::decode_upload("{}"));
  CHECK_FALSE(records::decode_upload("not json"));
  auto batch = records::upload_batch(s);
  REQUIRE(batch.ops.size() == 2);
  CHECK(batch.ops[1].family == column::upload_expiry);
  CHECK_FALSE(batch.ops[1].erase);
  s.files_deleted_at_ms = s.expires_at_ms + 86'400'000;
  CHECK(records::upload_batch(s).ops[1].erase);
}
