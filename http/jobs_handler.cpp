// Job resources: create, estimate, get, list, and the signed output files.
#include "config/limits.hpp"
#include "config/settings.hpp"
#include "http/detail/call.hpp"
#include "http/detail/request_parsing.hpp"
#include "http/render.hpp"
#include "models/crypto.hpp"
#include "models/job_inputs.hpp"
#include "models/job_request.hpp"
#include "models/json_writer.hpp"
#include "outbound/target.hpp"
#include "persistence/output_files.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace kiln::http {
namespace {

url_context urls_for(const api_context& context, const call_ptr& c) {
  auto host = c->req.header("host");
  std::string base = "http://" + std::string(host.empty() ? "127.0.0.1" : host);
  return url_context{std::move(base), context.url_signing_key, context.clock->now_ms()};
}

/// The job as the contract shows it, or as the front end that dispatched the call does.
std::string job_view(const call_ptr& c, const job& shown, const url_context& urls) {
  if (c->front_end && c->front_end->render_job) return c->front_end->render_job(shown, urls);
  return render_job(shown, urls);
}

/// Parses and validates a create body on the HTTP thread; the outcome is reported only once the
/// caller is authenticated, so a caller without a valid key learns nothing about validation.
std::shared_ptr<const caf::expected<job_spec>> parse_spec(const api_context& context,
                                                          const call_ptr& c) {
  std::uint64_t seed = 0;
  auto random = crypto::random_bytes(sizeof seed);
  std::memcpy(&seed, random.data(), sizeof seed);
  auto parsed = parse_job_request(c->req.body, *context.models, seed);
  if (parsed && c->front_end) parsed->origin = c->front_end->origin;
  return std::make_shared<const caf::expected<job_spec>>(std::move(parsed));
}

/// `Prefer: wait=N` (RFC 7240): milliseconds to hold the answer until the job is terminal; N is
/// capped at 60 seconds; 0 when absent or unreadable (a preference, never an error).
std::uint32_t preferred_wait_ms(const call_ptr& c) {
  auto prefer = c->req.header("prefer");
  auto at = prefer.find("wait=");
  if (at == std::string_view::npos) return 0;
  std::uint32_t seconds = 0;
  auto digits = prefer.substr(at + 5);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seconds);
  if (ec != std::errc{} || end == digits.data()) return 0;
  return std::min<std::uint32_t>(seconds, limits::prefer_wait_s_max) * 1000;
}

/// The reply deadline of a request that may wait `wait_ms` at the job.
std::chrono::milliseconds reply_timeout(std::uint32_t wait_ms) {
  return actor_reply_timeout + std::chrono::milliseconds(wait_ms);
}

/// What the caller's plan refuses of `spec`: a model above it (plan_required), a longer video
/// or a larger image than it makes (plan_limit); nullopt when it allows the job.
std::optional<api_error> plan_refusal(const api_context& context, const principal& who,
                                      const job_spec& spec) {
  const auto* have = context.config->find_plan(who.plan);
  const auto* need = context.config->find_plan(context.models->find(spec.model)->min_plan);
  if (need && (!have || have->rank < need->rank))
    return make_api_error(error_code::plan_required,
                          "model " + spec.model + " needs a higher plan");
  if (!have) return std::nullopt;
  if (have->max_duration_s > 0 && spec.params.duration_seconds > have->max_duration_s)
    return make_api_error(error_code::plan_limit,
                          "the " + who.plan + " plan makes videos of up to " +
                            std::to_string(have->max_duration_s) + " s; " +
                            std::to_string(spec.params.duration_seconds) + " s were asked for",
                          "params.duration_seconds");
  if (have->max_pixels > 0 &&
      std::uint64_t{spec.params.width} * spec.params.height > have->max_pixels)
    return make_api_error(error_code::plan_limit,
                          "the " + who.plan + " plan makes images of up to " +
                            std::to_string(have->max_pixels) + " pixels",
                          "params.width");
  return std::nullopt;
}

/// Fills the spec's inputs from the upload sessions they name, one after another, then calls
/// `done` with the spec; a session that is not the caller's, or a file that does not fit, is
/// answered 400 naming the input's field.
void resolve_inputs(caf::event_based_actor* self, const api_context& context, const call_ptr& c,
                    const std::string& account_id, std::shared_ptr<job_spec> spec,
                    std::size_t index, std::function<void(job_spec&)> done) {
  if (index == spec->inputs.size()) return done(*spec);
  auto field = "inputs[" + std::to_string(index) + "].upload_id";
  self
    ->request(context.uploads, actor_reply_timeout, upload_get_atom::value, account_id,
              spec->inputs[index].upload_id)
    .then(
      [=, &context](upload_session& session) {
        if (auto e = resolve_job_input(spec->inputs[index], index, session))
          return reply_error(c, e);
        resolve_inputs(self, context, c, account_id, spec, index + 1, done);
      },
      [=](caf::error& error) {
        if (!has_code(error, error_code::not_found)) return reply_error(c, error);
        reply_error(
          c, make_api_error(
               error_code::invalid_request,
               "no upload session " + spec->inputs[index].upload_id + " of this account", field));
      });
}

/// The checked `spec` (inputs resolved) goes to the account, which holds its cost and creates
/// it; the answer is the job, held until it ends with `Prefer: wait`.
void create_checked(caf::event_based_actor* self, const api_context& context, const call_ptr& c,
                    const principal& who, job_spec& spec) {
  if (auto e = size_from_source(spec)) return reply_error(c, e);
  auto claim = read_idempotency_claim(c);
  if (!claim) return;
  // The same body sent with a test key and a live key is two requests: a test job never
  // answers a live request's key, nor the other way round.
  if (!spec.livemode && !claim->key.empty()) claim->fingerprint += ":test";
  self
    ->request(who.account, actor_reply_timeout, submit_atom::value, spec, c->trace_id,
              std::move(*claim))
    .then(
      [=, &context, jobs = who.jobs](submitted& answer) {
        auto reply = [=, &context](const job& shown, bool waited) {
          auto r = json_response(201, job_view(c, shown, urls_for(context, c)));
          r.headers.emplace_back("Location", "/v1/jobs/" + shown.id);
          if (answer.replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
          if (waited) r.headers.emplace_back("Preference-Applied", "wait");
          c->reply(std::move(r));
        };
        auto wait_ms = preferred_wait_ms(c);
        if (wait_ms == 0) return reply(answer.record, false);
        // Created (and durable): now hold the answer until it ends or the wait runs out.
        self->request(jobs, reply_timeout(wait_ms), get_job_atom::value, answer.record.id, wait_ms)
          .then([=](job& now) { reply(now, true); },
                [=](caf::error&) { reply(answer.record, false); });
      },
      [=](caf::error& error) { reply_error(c, error); });
}

/// A request with an Idempotency-Key is checked like any other first: one that fails validation,
/// authentication, the webhook_url check or the plan check binds nothing, so the key may be used
/// again.
void submit(const api_context& context, const call_ptr& c,
            std::shared_ptr<const caf::expected<job_spec>> parsed,
            std::optional<std::string> webhook_refusal) {
  with_principal(
    context, c,
    [&context, c, parsed, webhook_refusal](caf::event_based_actor* self, const principal& who) {
      if (!*parsed) return reply_error(c, parsed->error());
      if (webhook_refusal)
        return reply_error(
          c, make_api_error(error_code::invalid_request,
                            "webhook_url is refused: " + *webhook_refusal, "webhook_url"));
      bool test = who.mode == key_mode::test;
      const auto& parsed_spec = **parsed;
      if (test && !parsed_spec.webhook_url.empty() &&
          !outbound::is_test_target(context.config->webhooks.test_targets, parsed_spec.webhook_url))
        return reply_error(
          c, make_api_error(error_code::invalid_request,
                            "a test key's webhook_url must be on webhooks.test_targets",
                            "webhook_url"));
      if (auto refusal = plan_refusal(context, who, parsed_spec)) return reply_error(c, *refusal);
      auto spec = std::make_shared<job_spec>(parsed_spec);
      spec->livemode = !test;
      if (spec->inputs.empty()) return create_checked(self, context, c, who, *spec);
      resolve_inputs(self, context, c, who.account_id, spec, 0, [=, &context](job_spec& resolved) {
        create_checked(self, context, c, who, resolved);
      });
    });
}

}  // namespace

/// A webhook_url must not lead to loopback, private or link-local addresses (server-side request
/// forgery) unless webhooks.allow_private_targets: its host is resolved here, asynchronously,
/// before the request goes on. The webhook client checks again when it connects.
void create_job(const api_context& context, const call_ptr& c) {
  auto parsed = parse_spec(context, c);
  const auto* spec = *parsed ? &**parsed : nullptr;
  if (!spec || spec->webhook_url.empty() || context.config->webhooks.allow_private_targets ||
      !context.resolver)
    return submit(context, c, std::move(parsed), std::nullopt);
  auto url = spec->webhook_url;
  outbound::check_target(*context.resolver, url, false,
                         [&context, c, parsed](std::optional<std::string> refusal) {
                           submit(context, c, parsed, std::move(refusal));
                         });
}

void estimate_job(const api_context& context, const call_ptr& c) {
  with_principal(
    context, c,
    [c, parsed = parse_spec(context, c)](caf::event_based_actor* self, const principal& who) {
      if (!*parsed) return reply_error(c, parsed->error());
      bool test = who.mode == key_mode::test;  // a test job is never refused for credits
      self->request(who.account, actor_reply_timeout, estimate_atom::value, (*parsed)->cost)
        .then(
          [=](estimate& answer) {
            answer.sufficient = answer.sufficient || test;
            c->reply(json_response(200, render_estimate(answer)));
          },
          [=](caf::error& error) { reply_error(c, error); });
    });
}

/// With `Prefer: wait=N` the job actor holds the answer (a response promise, no thread) until
/// the job is terminal or N seconds pass.
void get_job(const api_context& context, const call_ptr& c) {
  with_principal(context, c, [&context, c](caf::event_based_actor* self, const principal& who) {
    auto wait_ms = preferred_wait_ms(c);
    self->request(who.jobs, reply_timeout(wait_ms), get_job_atom::value, c->params[0], wait_ms)
      .then(
        [=, &context](job& found) {
          auto r = json_response(200, job_view(c, found, urls_for(context, c)));
          if (wait_ms > 0) r.headers.emplace_back("Preference-Applied", "wait");
          if (!is_terminal(found.status)) r.headers.emplace_back("Retry-After", "1");
          c->reply(std::move(r));
        },
        [=](caf::error& error) { reply_error(c, error); });
  });
}

void list_job_events(const api_context& context, const call_ptr& c) {
  answer_with<std::vector<job_event>>(
    context, c, 200,
    [&context, c](auto* self, const principal& who) {
      return self->request(reader_for(context, who.account_id), actor_reply_timeout,
                           events_atom::value, who.account_id, c->params[0]);
    },
    render_job_events);
}

void cancel_job(const api_context& context, const call_ptr& c) {
  answer_with<cancel_result>(
    context, c, 200,
    [c](auto* self, const principal& who) {
      return self->request(who.jobs, actor_reply_timeout, cancel_atom::value, c->params[0]);
    },
    render_cancel);
}

/// Soft delete: the job leaves the account's reads and lists; its ledger entries and files stay.
void delete_job(const api_context& context, const call_ptr& c) {
  with_principal(context, c, [&context, c](caf::event_based_actor* self, const principal& who) {
    self->request(who.jobs, actor_reply_timeout, delete_atom::value, c->params[0])
      .then(
        [=, &context](job& deleted) {
          c->reply(json_response(200, job_view(c, deleted, urls_for(context, c))));
        },
        [=](caf::error& error) { reply_error(c, error); });
  });
}

void admin_restore_job(const api_context& context, const call_ptr& c) {
  with_admin(context, c, [&context, c](caf::event_based_actor* self) {
    self
      ->request(context.directory, actor_reply_timeout, restore_atom::value, c->params[0],
                c->params[1])
      .then(
        [=, &context](job& restored) {
          c->reply(json_response(200, job_view(c, restored, urls_for(context, c))));
        },
        [=](caf::error& error) { reply_error(c, error); });
  });
}

void list_jobs(const api_context& context, const call_ptr& c) {
  job_query q;
  if (!read_page(c, q.limit, q.cursor) || !read_listing_order(c, q.offset, q.oldest_first)) return;
  if (const auto* text = c->query_value("status")) {
    q.status = parse_status_filter(*text);
    if (!q.status)
      return reply_error(c, make_api_error(error_code::invalid_request,
                                           "status must be queued, processing, succeeded, failed "
                                           "or canceled",
                                           "status"));
  }
  if (const auto* text = c->query_value("created_before")) {
    auto at = parse_time_ms(*text);
    if (!at || *at <= 0 || !q.cursor.empty() || q.offset > 0 || q.oldest_first)
      return reply_error(c, make_api_error(error_code::invalid_request,
                                           "created_before must be an RFC 3339 UTC time, without "
                                           "cursor, offset or order=asc",
                                           "created_before"));
    q.created_before_ms = *at;
  }
  auto render = [&context, c](const job_page& page) {
    if (c->front_end && c->front_end->render_page)
      return c->front_end->render_page(page, urls_for(context, c));
    return render_job_page(page, urls_for(context, c));
  };
  answer_with<job_page>(
    context, c, 200,
    [&context, q](auto* self, const principal& who) {
      auto mine = q;
      mine.account_id = who.account_id;
      return self->request(reader_for(context, who.account_id), actor_reply_timeout,
                           list_jobs_atom::value, std::move(mine));
    },
    render);
}

void get_file(const api_context& context, const call_ptr& c) {
  const std::string& name = c->params[0];
  const auto* expires = c->query_value("expires");
  const auto* signature = c->query_value("signature");
  if (!output_files::is_valid_name(name) || !expires || !signature ||
      !verify_file_signature(name, *expires, *signature, context.url_signing_key,
                             context.clock->now_ms()))
    return reply_error(c, make_api_error(error_code::forbidden,
                                         "the file URL is invalid, tampered with or expired"));
  response r;
  if (c->req.method == "HEAD") {  // the headers only: the file's size, not its bytes
    r.content_length = output_files::size(context.files_dir, name);
    if (!r.content_length)
      return reply_error(c, make_api_error(error_code::not_found, "no such file"));
  } else {
    auto bytes = output_files::read(context.files_dir, name);
    if (!bytes) return reply_error(c, make_api_error(error_code::not_found, "no such file"));
    r.body = std::move(*bytes);
  }
  r.content_type = std::string(output_files::content_type_of(name));
  r.headers.emplace_back("Cache-Control",
                         "private, max-age=" + std::to_string(limits::file_url_ttl.count()));
  c->reply(std::move(r));
}

void list_models(const api_context& context, const call_ptr& c) {
  c->reply(json_response(200, context.models->json()));
}

}  // namespace kiln::http
