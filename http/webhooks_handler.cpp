// Webhook resources: the account's signing secret and its rotation, a job's delivery attempts,
// and redelivery of a job's terminal event.
#include "http/detail/call.hpp"
#include "http/render.hpp"

namespace kiln::http {

void get_webhook_secret(const api_context& context, const call_ptr& c) {
  answer_from_account<webhook_secret_view>(context, c, 200, render_webhook_secret,
                                           secret_atom::value);
}

/// A new secret signs from now on; the old one also signs for webhooks.secret_rotation_window_s,
/// so receivers can switch without missing an event.
void rotate_webhook_secret(const api_context& context, const call_ptr& c) {
  answer_from_account<webhook_secret_view>(context, c, 200, render_webhook_secret,
                                           rotate_atom::value);
}

void list_deliveries(const api_context& context, const call_ptr& c) {
  answer_from_account<std::vector<delivery>>(context, c, 200, render_deliveries,
                                             deliveries_atom::value, c->params[0]);
}

void redeliver(const api_context& context, const call_ptr& c) {
  answer_from_account<delivery>(context, c, 202, render_delivery, redeliver_atom::value,
                                c->params[0]);
}

}  // namespace kiln::http
