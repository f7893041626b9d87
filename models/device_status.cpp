// Names and allowed moves of device states.
#include "models/device_status.hpp"

namespace kiln {

std::string_view device_status_name(device_status status) {
  switch (status) {
    case device_status::up:
      return "up";
    case device_status::down:
      return "down";
    case device_status::probing:
      return "probing";
  }
  return "up";
}

bool device_status_allows(device_status from, device_status to) {
  if (from == to) return true;
  switch (from) {
    case device_status::up:
      return to == device_status::down;
    case device_status::down:
      return to == device_status::probing || to == device_status::up;
    case device_status::probing:
      return true;  // up or down: the probe's outcome
  }
  return false;
}

}  // namespace kiln
