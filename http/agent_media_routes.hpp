// agent.media's video API (seed 002) on the core: create a UGC video from a script or a prompt,
// poll it, cancel it. Each route translates (models/dialects/agent_media), runs the core route as
// the caller (api::dispatch_as) and answers in agent.media's shapes and envelope. No state.
#pragma once

namespace kiln::http {

class api;

/// Mounts the routes on `core`; call before the server starts.
void mount_agent_media(api& core);

}  // namespace kiln::http
