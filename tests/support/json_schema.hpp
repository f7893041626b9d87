// A JSON Schema checker for the subset Kiln's MCP tools publish (type, required, properties,
// additionalProperties: false, items, anyOf, enum, const, minimum, maximum; minLength and
// maxLength are accepted, not checked), so a test can check
// a result against the schema the server itself declared, as an MCP client does.
#pragma once

#include <string>
#include <string_view>

namespace kiln::test {

/// Empty when `value` satisfies `schema`; otherwise where and why not ("/output/0/bytes: not an
/// integer"). Throws std::runtime_error when either is not JSON or the schema uses a keyword
/// this checker does not know (so a schema can never pass unchecked).
std::string schema_violation(std::string_view schema, std::string_view value);

}  // namespace kiln::test
