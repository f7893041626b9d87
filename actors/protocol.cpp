// Conversion of actor errors into the contract's errors.
#include "actors/protocol.hpp"

namespace kiln {

api_error to_api_error(const caf::error& error) {
  if (error.category() == kiln_error_category) {
    api_error result;
    result.code = static_cast<error_code>(error.code());
    const auto& context = error.context();
    if (context.match_elements<std::string, std::string>()) {
      result.message = context.get_as<std::string>(0);
      result.field = context.get_as<std::string>(1);
    }
    return result;
  }
  if (error == caf::sec::request_timeout || error == caf::sec::request_receiver_down)
    return make_api_error(error_code::unavailable,
                          "a dependency did not answer in time (" + caf::to_string(error) + ")");
  return make_api_error(error_code::server_error, "internal error");
}

}  // namespace kiln
