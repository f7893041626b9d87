// Killa Tamata's API (seed 001) on the core: /api/v1/media/jobs, balance, keys, health, and 501
// for what needs outside services. Each route translates its request (models/dialects/killa),
// runs it through the core routes as the caller (api::dispatch_as: the same authentication,
// rate limits, idempotency, ledger, jobs and webhooks) and renders the answer in Killa's shape.
// It keeps no state: a Killa job is a core job, the same under GET /v1/jobs/{id}.
#pragma once

#include "models/dialects/killa.hpp"
#include "models/dialects/killa_discovery.hpp"

#include <vector>

namespace kiln::http {

class api;

/// Mounts the routes on `core`, with the packages GET /api/v1/packages lists; call before the
/// server starts. With `own_listener`, the listener of that name (server_options::name) serves
/// Killa's paths only (and the output files), every error in Killa's envelope.
void mount_killa(api& core, killa::dialect_settings settings,
                 std::vector<killa::package> packages = {}, std::string own_listener = {});

}  // namespace kiln::http
