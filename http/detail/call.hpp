// One request in flight through the API: the request, how to answer it, its ids and route params,
// and the helpers every handler uses (JSON answers, errors, authentication through the bridge).
#pragma once

#include "http/api.hpp"
#include "models/api_error.hpp"
#include "protocol/directory.hpp"
#include "protocol/store.hpp"

#include <caf/event_based_actor.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace kiln::http {

/// An exchange on its way through the routes: its path, query and route parameters.
struct call : exchange {
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::string> params;  ///< path parameters, in pattern order
  std::chrono::steady_clock::time_point started;

  /// The first query value named `name`, or nullptr.
  const std::string* query_value(std::string_view name) const {
    for (const auto& [key, value] : query)
      if (key == name) return &value;
    return nullptr;
  }
};
using call_ptr = std::shared_ptr<call>;

response error_response(const api_error& error);
void reply_error(const call_ptr& c, const api_error& error);
void reply_error(const call_ptr& c, const caf::error& error);

/// Runs `next` in a bridge actor with the caller's principal, or answers 401.
void with_principal(const api_context& context, const call_ptr& c,
                    std::function<void(caf::event_based_actor*, const principal&)> next);
/// Runs `next` in a bridge actor if the admin token matches, or answers 401.
void with_admin(const api_context& context, const call_ptr& c,
                std::function<void(caf::event_based_actor*)> next);

/// How long the front end waits for an actor's answer before 503.
constexpr std::chrono::milliseconds actor_reply_timeout{15000};

/// The shape of most authenticated routes: `ask(self, who)` sends one request (to the caller's
/// account, its jobs or a store reader) and the answer, an `Answer`, is rendered with `render`
/// under `status`; an error is answered as the contract's error.
template <class Answer, class Ask, class Render>
void answer_with(const api_context& context, const call_ptr& c, int status, Ask ask,
                 Render render) {
  with_principal(context, c, [=](caf::event_based_actor* self, const principal& who) {
    ask(self, who).then([=](Answer& answer) { c->reply(json_response(status, render(answer))); },
                        [=](caf::error& error) { reply_error(c, error); });
  });
}

/// The store reader that answers `account_id`'s queries (one per account, so an account's
/// queries queue behind each other, not behind every account's).
const store_reader_actor& reader_for(const api_context& context, const std::string& account_id);

// -- resource handlers, one function per route (jobs_, accounts_, ledger_, webhooks_handler) ---
void create_job(const api_context& context, const call_ptr& c);
void estimate_job(const api_context& context, const call_ptr& c);
void get_job(const api_context& context, const call_ptr& c);
void list_jobs(const api_context& context, const call_ptr& c);
void get_file(const api_context& context, const call_ptr& c);
void list_models(const api_context& context, const call_ptr& c);
void create_key(const api_context& context, const call_ptr& c);
void list_keys(const api_context& context, const call_ptr& c);
void revoke_key(const api_context& context, const call_ptr& c);
void admin_create_account(const api_context& context, const call_ptr& c);
void admin_get_account(const api_context& context, const call_ptr& c);
void admin_devices(const api_context& context, const call_ptr& c);
void cancel_job(const api_context& context, const call_ptr& c);
void delete_job(const api_context& context, const call_ptr& c);
void admin_restore_job(const api_context& context, const call_ptr& c);
void list_job_events(const api_context& context, const call_ptr& c);
void get_balance(const api_context& context, const call_ptr& c);
void list_ledger(const api_context& context, const call_ptr& c);
void get_account_view(const api_context& context, const call_ptr& c);
void get_usage(const api_context& context, const call_ptr& c);
void admin_grant(const api_context& context, const call_ptr& c);
void get_webhook_secret(const api_context& context, const call_ptr& c);
void rotate_webhook_secret(const api_context& context, const call_ptr& c);
void list_deliveries(const api_context& context, const call_ptr& c);
void redeliver(const api_context& context, const call_ptr& c);
void admin_get_faults(const api_context& context, const call_ptr& c);
void admin_put_faults(const api_context& context, const call_ptr& c);
void admin_snapshot(const api_context& context, const call_ptr& c);
void healthz(const api_context& context, const call_ptr& c);
void readyz(const api_context& context, const call_ptr& c);
void metrics(const api_context& context, const call_ptr& c);
void create_upload(const api_context& context, const call_ptr& c);
void get_upload(const api_context& context, const call_ptr& c);
void put_upload_file(const api_context& context, const call_ptr& c);
void get_upload_file(const api_context& context, const call_ptr& c);

}  // namespace kiln::http
