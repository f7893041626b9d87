// JSON rendering of the values the HTTP front end answers with (jobs: models/job_json.hpp).
#pragma once

#include "models/account.hpp"
#include "models/job.hpp"
#include "models/job_event.hpp"
#include "models/job_json.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {
struct devices_report;
struct estimate;
struct cancel_result;
struct ledger_page;
struct usage_report;
struct plan_settings;
struct delivery;
struct webhook_secret_view;
}  // namespace kiln

namespace kiln::http {

std::string render_account(const account& value);
std::string render_account_created(const account_created& value);
std::string render_key(const api_key& value, const std::string* plain);
std::string render_keys(const std::vector<api_key>& keys);
std::string render_estimate(const estimate& value);
std::string render_devices(const devices_report& report);
std::string render_cancel(const cancel_result& value);
std::string render_balance(const balance& value);
std::string render_ledger_entry(const ledger_entry& value);
std::string render_ledger_page(const ledger_page& page);
/// GET /v1/account: the account, its plan's limits, the models it may use, its balance.
std::string render_account_view(const account& value, const plan_settings* plan,
                                const std::vector<std::string>& models, std::int64_t now_ms);
std::string render_usage(const usage_report& report, std::string_view period);

/// GET /v1/jobs/{id}/events: the job's timeline, oldest first.
std::string render_job_events(const std::vector<job_event>& events);
/// GET /v1/jobs/{id}/deliveries: every attempt of every delivery, oldest first.
std::string render_deliveries(const std::vector<delivery>& deliveries);
/// POST /v1/jobs/{id}/deliveries/redeliver: the new delivery.
std::string render_delivery(const delivery& d);
std::string render_webhook_secret(const webhook_secret_view& view);

}  // namespace kiln::http
