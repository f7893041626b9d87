// Kiln errors as caf::error values, and their conversion into the contract's errors.
#include "models/error.hpp"

#include <caf/make_message.hpp>
#include <caf/sec.hpp>

namespace kiln {

caf::error make_error(error_code code, std::string message, std::string field,
                      std::string outcome) {
  return caf::error(static_cast<std::uint8_t>(code), kiln_error_category,
                    caf::make_message(std::move(message), std::move(field), std::move(outcome)));
}

caf::error make_unknown_outcome_error(std::string message) {
  return make_error(error_code::unavailable,
                    std::move(message) +
                      "; it may or may not have been written: retry with the same "
                      "Idempotency-Key to learn which",
                    {}, "unknown");
}

// CAF 0.17's caf::error has no category while empty (calling category() on one crashes), so
// every function here asks first whether there is an error at all.

bool has_code(const caf::error& error, error_code code) {
  return error && error.category() == kiln_error_category &&
         error.code() == static_cast<std::uint8_t>(code);
}

api_error to_api_error(const caf::error& error) {
  if (!error) return make_api_error(error_code::server_error, "internal error (no error)");
  if (error.category() == kiln_error_category) {
    api_error result;
    result.code = static_cast<error_code>(error.code());
    const auto& context = error.context();
    if (context.match_elements<std::string, std::string, std::string>()) {
      result.message = context.get_as<std::string>(0);
      result.field = context.get_as<std::string>(1);
      result.outcome = context.get_as<std::string>(2);
    }
    return result;
  }
  if (error == caf::sec::request_timeout || error == caf::sec::request_receiver_down)
    return make_api_error(error_code::unavailable,
                          "a dependency did not answer in time (" + caf::to_string(error) + ")");
  return make_api_error(error_code::server_error, "internal error");
}

std::string describe(const caf::error& error) {
  if (!error) return "none";
  if (error.category() == kiln_error_category) {
    auto api = to_api_error(error);
    return std::string(error_name(api.code)) + ": " + api.message;
  }
  return caf::to_string(error);
}

}  // namespace kiln
