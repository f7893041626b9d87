// What the Killa Tamata end-to-end tests share: its error envelope checked.
#pragma once

#include "tests/support/http_client.hpp"
#include "tests/support/json.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace kiln::test {

/// `answer` is `status` with Killa's {ok: false, error, details: {code, field?}}.
inline void check_killa_error(const http_response& answer, int status, const std::string& code,
                              const std::string& field = {}) {
  INFO(answer.body);
  CHECK(answer.status == status);
  auto body = json::parse(answer.body);
  CHECK(body["ok"].boolean() == false);
  CHECK_FALSE(body["error"].str().empty());
  CHECK(body["/details/code"].str() == code);
  if (!field.empty()) CHECK(body["/details/field"].str() == field);
}

}  // namespace kiln::test
