// MercaDream's /v2 API (seed 003) on the core: generate a video, synthesize speech, compose
// music, poll and list jobs, browse the Vault. Each route translates (models/dialects/
// mercadream), runs the core route as the caller (api::dispatch_as) and answers in MercaDream's
// shapes and {error: {code, message}} envelope. No state.
#pragma once

namespace kiln::http {

class api;

/// Mounts the routes on `core`; call before the server starts.
void mount_mercadream(api& core);

}  // namespace kiln::http
