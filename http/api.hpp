// The API front end: authenticates, validates, sends one message into the actor system and
// renders the answer. It never touches RocksDB or credit rules.
#pragma once

#include "base/clock.hpp"
#include "base/faults.hpp"
#include "http/message.hpp"
#include "models/catalog.hpp"
#include "models/job_json.hpp"
#include "protocol/device_link.hpp"
#include "protocol/directory.hpp"
#include "protocol/scheduler.hpp"
#include "protocol/store.hpp"
#include "protocol/upload.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kiln {
class bridge;
struct settings;
}  // namespace kiln

namespace kiln::outbound {
class resolver_pool;
}

namespace kiln::http {

struct call;

struct api_context {
  kiln::bridge* actors = nullptr;
  directory_actor directory;
  scheduler_actor scheduler;
  std::vector<store_reader_actor> readers;  ///< listings, ledger, usage, timelines
  const catalog* models = nullptr;
  const settings* config = nullptr;
  clock_ptr clock;
  std::string url_signing_key;  ///< HMAC key of signed file URLs
  std::string files_dir;
  std::function<std::string()> metrics_text;     ///< store and runtime counters, Prometheus text
  outbound::resolver_pool* resolver = nullptr;   ///< looks up webhook_url hosts at submit
  faults_ptr faults;                             ///< GET|PUT /admin/v1/faults
  store_writer_actor writer;                     ///< POST /admin/v1/snapshots
  std::function<store_status()> storage_status;  ///< whether the store takes writes (readyz)
  device_link_actor device_links;                ///< Killa's device links (killa_device_link)
  upload_actor uploads;                          ///< upload sessions (uploads_handler)
  std::string uploads_dir;                       ///< <data_dir>/uploads: sessions' files
};

/// What a front end tells the core about a request it translated. It rides on the internal
/// call only: nothing of it is ever read from the wire, so no client can set it.
struct front_end_call {
  job_origin origin;        ///< stored on a job the request creates
  std::string fingerprint;  ///< idempotency compares this instead of the request's body
  /// Renders a job in the front end's view instead of the contract's (create and get).
  std::function<std::string(const job&, const url_context&)> render_job;
  /// Renders a page of GET /v1/jobs in the front end's view.
  std::function<std::string(const job_page&, const url_context&)> render_page;
  /// POST /v1/keys makes a key starting with this instead of the core's "kiln_sk_" (agent.media's
  /// "ma_"): 1 to 16 of a-z, 0-9 and '_' (crypto::valid_key_prefix).
  std::string key_prefix;
  /// POST /v1/keys makes a key of this mode, whatever the body's `mode` says; unset: the body's
  /// (default live). A prefix never implies a mode: MercaDream's test keys set key_prefix
  /// "mk_test_" and key_mode test (docs/decisions.md, "Test keys").
  std::optional<kiln::key_mode> key_mode;
};

/// One request as the API sees it: the message, its ids, how to answer it, and the caller once
/// authenticated. A front end mounted on the API (MCP) gets its requests as exchanges.
struct exchange {
  request req;
  responder reply;  ///< answers once; adds X-Request-Id (and the rate headers once authenticated)
  std::string request_id;
  std::string trace_id;
  std::optional<principal> who;  ///< set by authentication, or by the front end that dispatched it
  std::shared_ptr<const front_end_call> front_end;  ///< set only by api::dispatch_as
};
using exchange_ptr = std::shared_ptr<exchange>;
/// A JSON answer.
response json_response(int status, std::string body);
/// An error a front end rendered in its own envelope (marked so that the envelope of
/// api::set_envelope is not applied to it again).
response enveloped_error(int status, std::string body);
/// Whether the request says its body is JSON (Content-Type: application/json, any parameters).
bool is_json_body(const request& message);
/// A core answer handed on by a front end: a success as `ok` makes it (or as it is), an error as
/// it is (the front end's envelope, api::set_envelope, turns it into its shape); the headers a
/// client acts on (Retry-After, Idempotent-Replayed, Location) kept.
response passed_on(response inner, const std::function<std::string(std::string_view)>& ok = {});

/// One key of a `GET /v1/keys` answer, for a front end that lists keys in its own shape.
struct listed_key {
  std::string_view id, prefix, name, created_at;
  std::string_view last_used_at;  ///< empty: never used
};
/// Calls `visit` with each key of a `GET /v1/keys` answer body, in its order.
void for_each_listed_key(std::string_view core_body,
                         const std::function<void(const listed_key&)>& visit);

/// A request to the core routes made on behalf of `outer` (a front end's call): the Host the
/// client reached (output URLs point there) and its peer kept, JSON when it has a body.
request inner_request(const exchange& outer, std::string method, std::string target,
                      std::string body = {});

/// Whether a request is a PUT of a file into an upload session (`PUT /v1/uploads/{id}/files`),
/// whose body the server streams to disk (server_options::streamed_body_limit).
bool is_upload_put(std::string_view method, std::string_view target);

/// A front end's handler for one mounted route.
using front_end = std::function<void(const exchange_ptr&)>;

class api {
public:
  explicit api(api_context context);
  ~api();
  void handle(request&& message, responder reply);
  /// Routes `method pattern` to `handler`, with the API's ids, logs, 404/405 and (`takes_body`)
  /// the application/json check. Call before serving.
  void mount(std::string method, std::string_view pattern, front_end handler, bool takes_body);
  /// Checks the key and the rate limit like every REST route, then runs `next` with `who` set
  /// (on an actor thread); or answers the exchange 401, 429 or 503 itself.
  void authenticate(const exchange_ptr& outer, std::function<void()> next);
  /// Routes `inner` as the authenticated caller of `outer`, under `outer`'s request and trace ids,
  /// without a second key lookup or rate count: a front end's call into the REST routes.
  void dispatch_as(const exchange& outer, request inner, responder reply,
                   std::shared_ptr<const front_end_call> front_end = nullptr);
  const api_context& context() const;
  /// The answer for a request rejected by the server before routing (413, 431, 400), in the
  /// envelope of the front end that owns `target`'s path.
  response limit_response(int status, std::string_view target) const;
  /// Turns a core error body ({"error": {...}}) into a front end's envelope.
  using envelope = std::function<std::string(std::string_view core_body)>;
  /// Errors on paths under `prefix` come in `reshape`'s envelope, those the core makes before a
  /// route runs (404, 405, 413, 415, 431, 401, 429) too. The longest matching prefix wins.
  void set_envelope(std::string prefix, envelope reshape);
  /// A front end's own listener (server_options::name = `listener`): only paths under
  /// `prefixes` are served on it, and every error there comes in `reshape`'s envelope.
  void dedicate_listener(std::string listener, std::vector<std::string> prefixes, envelope reshape);

  struct impl;

private:
  void route(const std::shared_ptr<call>& c);
  std::unique_ptr<impl> impl_;
};

}  // namespace kiln::http
