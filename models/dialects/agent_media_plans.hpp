// agent.media's account and usage views (seed 002) made from the core's answers: a Kiln plan as
// one of agent.media's tiers (free, payg, starter "Creator", creator "Pro", pro_plus "Pro
// Plus"), the plan's monthly credits apart from the purchased ones, and usage by outcome, model,
// day and operation. Pure: http/agent_media_routes.cpp hands in the core's JSON.
#pragma once

#include <string>
#include <string_view>

namespace kiln::agent_media {

/// agent.media's tier for a Kiln plan: a plan named like a tier is that tier; Kiln's default
/// plans map free -> free, starter -> starter, pro -> creator, enterprise -> pro_plus; any
/// other plan shows as payg.
std::string_view tier_of(std::string_view plan);
/// The tier's display name ("Creator" for starter).
std::string_view tier_name(std::string_view tier);

/// GET /api/v1/account from GET /v1/account's body.
std::string render_account(std::string_view core_account);
/// GET /api/v1/account/usage from GET /v1/usage's body.
std::string render_usage(std::string_view core_usage);

}  // namespace kiln::agent_media
