// The core's one error convention. Expected failures (bad input, not found, no credits) and
// dependency failures (storage, devices: `unavailable`, nothing changed) travel as caf::error in
// the "kiln" category, whose code is an error_code and whose context holds (message, field); a
// function that can fail returns caf::expected<T>, or caf::error when it has no value. Bugs are
// KILN_ASSERTs, never errors. The HTTP front end turns any caf::error into the contract's error
// with `to_api_error`.
#pragma once

#include "models/api_error.hpp"

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <string>

namespace kiln {

/// The category atom of Kiln's errors.
constexpr caf::atom_value kiln_error_category = caf::atom("kiln");

/// A Kiln error: `code` from the contract's table, a message for people, for invalid_request
/// the field it is about, and for a write whose fate is not known the outcome "unknown".
caf::error make_error(error_code code, std::string message, std::string field = {},
                      std::string outcome = {});

/// The answer to a write that failed after it reached the disk's queue: it may or may not be
/// on disk (a failed fsync), so the client is told the outcome is unknown and how to settle it.
caf::error make_unknown_outcome_error(std::string message);

/// Whether `error` is a Kiln error with this code.
bool has_code(const caf::error& error, error_code code);

/// Kiln errors keep their code; timeouts and dead actors are 503 unavailable; anything else 500.
api_error to_api_error(const caf::error& error);

/// The message of a Kiln error, or CAF's rendering of any other error, for logs.
std::string describe(const caf::error& error);

}  // namespace kiln
