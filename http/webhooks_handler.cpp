// Webhook resources: the account's signing secret and its rotation, a job's delivery attempts,
// and redelivery of a job's terminal event.
#include "http/detail/call.hpp"
#include "http/render.hpp"

namespace kiln::http {

void get_webhook_secret(const api_context& context, const call_ptr& c) {
  answer_with<webhook_secret_view>(
    context, c, 200,
    [](auto* self, const principal& who) {
      return self->request(who.account, actor_reply_timeout, secret_atom::value);
    },
    render_webhook_secret);
}

/// A new secret signs from now on; the old one also signs for webhooks.secret_rotation_window_s,
/// so receivers can switch without missing an event.
void rotate_webhook_secret(const api_context& context, const call_ptr& c) {
  answer_with<webhook_secret_view>(
    context, c, 200,
    [](auto* self, const principal& who) {
      return self->request(who.account, actor_reply_timeout, rotate_atom::value);
    },
    render_webhook_secret);
}

void list_deliveries(const api_context& context, const call_ptr& c) {
  answer_with<std::vector<delivery>>(
    context, c, 200,
    [&context, c](auto* self, const principal& who) {
      return self->request(reader_for(context, who.account_id), actor_reply_timeout,
                           deliveries_atom::value, who.account_id, c->params[0]);
    },
    render_deliveries);
}

void redeliver(const api_context& context, const call_ptr& c) {
  answer_with<delivery>(
    context, c, 202,
    [c](auto* self, const principal& who) {
      return self->request(who.jobs, actor_reply_timeout, redeliver_atom::value, c->params[0]);
    },
    render_delivery);
}

}  // namespace kiln::http
