// agent.media's video API (seed 002) on the core: create a UGC video from a script or a prompt,
// poll it, cancel it. Each route translates (models/dialects/agent_media), runs the core route as
// the caller (api::dispatch_as) and answers in agent.media's shapes and envelope. No state.
#pragma once

namespace kiln::http {

class api;

/// Mounts the routes on `core`; call before the server starts.
void mount_agent_media(api& core);

/// The actor library: GET /api/v1/actors, /api/v1/actors/{slug} and each actor's portrait,
/// /api/v1/actors/{slug}/portrait.png (http/agent_media_actors.cpp).
void mount_agent_media_actors(api& core);

/// The account's keys with agent.media's "ma_" prefix: POST and GET /api/v1/account/keys,
/// DELETE /api/v1/account/keys/{id} (http/agent_media_account.cpp).
void mount_agent_media_account(api& core);

}  // namespace kiln::http
