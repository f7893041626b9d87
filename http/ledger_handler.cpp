// Credit resources: balance, ledger, account view, usage, and admin grants.
#include "config/limits.hpp"
#include "config/settings.hpp"
#include "http/detail/call.hpp"
#include "http/detail/request_parsing.hpp"
#include "http/render.hpp"
#include "models/crypto.hpp"

#include <simdjson.h>

namespace kiln::http {
namespace {

struct grant_request {
  std::int64_t amount = 0;
  std::string reason;
};

std::optional<grant_request> parse_grant(const call_ptr& c) {
  simdjson::dom::parser parser;
  auto object = read_object(c, parser, {"amount", "reason"});
  if (!object) return std::nullopt;
  grant_request request;
  bool has_amount = false;
  for (auto field : *object) {
    std::string key(field.key);
    if (key == "amount") {
      has_amount = field.value.get_int64().get(request.amount) == simdjson::SUCCESS;
      if (!has_amount || request.amount < 1 || request.amount > limits::credits_grant_max) {
        reply_error(c, make_api_error(error_code::invalid_request,
                                      "amount must be an integer from 1 to 10^12", "amount"));
        return std::nullopt;
      }
    } else if (key == "reason") {
      std::string_view text;
      if (field.value.get_string().get(text) != simdjson::SUCCESS ||
          text.size() > limits::name_bytes_max) {
        reply_error(c, make_api_error(error_code::invalid_request,
                                      "reason must be a string of at most 200 bytes", "reason"));
        return std::nullopt;
      }
      request.reason = std::string(text);
    }
  }
  if (!has_amount) {
    reply_error(c, make_api_error(error_code::invalid_request, "amount is required", "amount"));
    return std::nullopt;
  }
  return request;
}

}  // namespace

void get_balance(const api_context& context, const call_ptr& c) {
  answer_with<balance>(
    context, c, 200,
    [](auto* self, const principal& who) {
      return self->request(who.account, actor_reply_timeout, balance_atom::value);
    },
    render_balance);
}

void list_ledger(const api_context& context, const call_ptr& c) {
  std::uint32_t limit = 0;
  std::string cursor;
  if (!read_page(c, limit, cursor)) return;
  answer_with<ledger_page>(
    context, c, 200,
    [&context, limit, cursor](auto* self, const principal& who) {
      return self->request(reader_for(context, who.account_id), actor_reply_timeout,
                           ledger_atom::value, who.account_id, limit, cursor);
    },
    render_ledger_page);
}

void get_account_view(const api_context& context, const call_ptr& c) {
  with_principal(context, c, [&context, c](caf::event_based_actor* self, const principal& who) {
    self->request(who.account, actor_reply_timeout, get_account_atom::value)
      .then(
        [=, &context](account& found) {
          const auto* plan = context.config->find_plan(found.plan);
          std::vector<std::string> models;
          for (const auto& m : context.models->models()) {
            const auto* need = context.config->find_plan(m.min_plan);
            if (!need || (plan && plan->rank >= need->rank)) models.push_back(m.id);
          }
          c->reply(
            json_response(200, render_account_view(found, plan, models, context.clock->now_ms())));
        },
        [=](caf::error& error) { reply_error(c, error); });
  });
}

void get_usage(const api_context& context, const call_ptr& c) {
  const auto* period = c->query_value("period");
  std::string name = period ? *period : "30d";
  int days = name == "7d" ? 7 : name == "30d" ? 30 : name == "90d" ? 90 : 0;
  if (days == 0)
    return reply_error(
      c, make_api_error(error_code::invalid_request, "period must be 7d, 30d or 90d", "period"));
  auto from_ms = context.clock->now_ms() - std::int64_t{days} * 86'400'000;
  auto render = [name](const usage_report& report) { return render_usage(report, name); };
  answer_with<usage_report>(
    context, c, 200,
    [&context, from_ms](auto* self, const principal& who) {
      return self->request(reader_for(context, who.account_id), actor_reply_timeout,
                           usage_atom::value, who.account_id, from_ms);
    },
    render);
}

void admin_grant(const api_context& context, const call_ptr& c) {
  with_admin(context, c, [&context, c](caf::event_based_actor* self) {
    auto claim = read_idempotency_claim(c);
    if (!claim) return;
    auto request = parse_grant(c);
    if (!request) return;
    self
      ->request(context.directory, actor_reply_timeout, grant_atom::value, c->params[0],
                request->amount, request->reason, *claim)
      .then(
        [=](grant_result& result) {
          auto r = json_response(201, render_ledger_entry(result.entry));
          if (result.replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
          c->reply(std::move(r));
        },
        [=](caf::error& error) { reply_error(c, error); });
  });
}

}  // namespace kiln::http
