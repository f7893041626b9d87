// Killa Tamata's discovery documents, made from its route table: an OpenAPI 3.1 document for the
// dialect, /llms.txt, and the agent skill (manifest and SKILL.md) the seed's agents install; and
// the credit packages a deployment lists. Pure text: the routes serve them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::killa {

/// One route of the dialect, as the documents list it.
struct route_doc {
  std::string_view method;
  std::string_view path;
  std::string_view summary;
  bool needs_key = true;
};

/// Every route Kiln serves for Killa, in the order the documents list them.
const std::vector<route_doc>& route_docs();

/// A credit package a deployment lists (config frontends.killa.packages); buying is elsewhere.
struct package {
  std::string code;
  std::string label;
  std::int64_t usd_cents = 0;
  std::int64_t credits = 0;
};

/// `base` is the server's URL as the client reached it ("http://host:8080").
std::string render_openapi(std::string_view base);
std::string render_llms_txt(std::string_view base);
std::string render_skill_manifest(std::string_view base);
std::string render_skill_md(std::string_view base);
std::string render_packages(const std::vector<package>& packages);

}  // namespace kiln::killa
