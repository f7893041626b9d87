// A device's health as the scheduler's circuit breaker sees it, and the moves between states it
// allows. `up` runs jobs; `down` runs none until its cooldown ends; `probing` lets one trial job
// through, whose success brings the device back and whose failure takes it down again.
#pragma once

#include <cstdint>
#include <string_view>

namespace kiln {

enum class device_status : std::uint8_t { up, down, probing };

/// "up", "down" or "probing", as GET /admin/v1/devices shows it.
std::string_view device_status_name(device_status status);

/// Whether the breaker may move a device from `from` to `to`: up -> down (failures in a row),
/// down -> probing (cooldown over), probing -> up | down (the probe's outcome), and down -> up
/// (a run started before the trip succeeded). Staying put is always allowed.
bool device_status_allows(device_status from, device_status to);

}  // namespace kiln
