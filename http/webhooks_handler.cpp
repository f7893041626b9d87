// Webhook resources: the account's signing secret and its rotation, a job's delivery attempts,
// and redelivery of a job's terminal event.
#include "http/detail/call.hpp"
#include "http/render.hpp"

namespace kiln::http {

void get_webhook_secret(const api_context& context, const call_ptr& c) {
  with_principal(context, c, [c](caf::event_based_actor* self, const principal& who) {
    self->request(who.account, actor_reply_timeout, secret_atom::value)
      .then([=](webhook_secret_view& view) {
              c->reply(json_response(200, render_webhook_secret(view)));
            },
            [=](caf::error& error) { reply_error(c, error); });
  });
}

/// A new secret signs from now on; the old one also signs for webhooks.secret_rotation_window_s,
/// so receivers can switch without missing an event.
void rotate_webhook_secret(const api_context& context, const call_ptr& c) {
  with_principal(context, c, [c](caf::event_based_actor* self, const principal& who) {
    self->request(who.account, actor_reply_timeout, rotate_atom::value)
      .then([=](webhook_secret_view& view) {
              c->reply(json_response(200, render_webhook_secret(view)));
            },
            [=](caf::error& error) { reply_error(c, error); });
  });
}

void list_deliveries(const api_context& context, const call_ptr& c) {
  with_principal(context, c, [c](caf::event_based_actor* self, const principal& who) {
    self->request(who.account, actor_reply_timeout, deliveries_atom::value, c->params[0])
      .then([=](std::vector<delivery>& found) {
              c->reply(json_response(200, render_deliveries(found)));
            },
            [=](caf::error& error) { reply_error(c, error); });
  });
}

void redeliver(const api_context& context, const call_ptr& c) {
  with_principal(context, c, [c](caf::event_based_actor* self, const principal& who) {
    self->request(who.account, actor_reply_timeout, redeliver_atom::value, c->params[0])
      .then([=](delivery& created) { c->reply(json_response(202, render_delivery(created))); },
            [=](caf::error& error) { reply_error(c, error); });
  });
}

}  // namespace kiln::http
