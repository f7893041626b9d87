// Killa Tamata's device-link key flow (seed 001) over the core: a local tool starts a link without
// a key (POST /api/v1/device/link/start) and shows its user code; the user, signed in with a key
// of their own, looks it up (GET .../request?userCode=) and approves it (POST .../approve), which
// mints a new key for their account through the core's POST /v1/keys; the tool polls
// (POST .../poll) with its device code and receives that key exactly once. The links themselves
// live in the node's device-link actor (protocol/device_link.hpp), in memory only.
#pragma once

namespace kiln::http {

class api;

/// Mounts the four routes on `core`, answering in Killa's envelope; they talk to
/// `core.context().device_links`. Call before the server starts.
void mount_killa_device_link(api& core);

}  // namespace kiln::http
