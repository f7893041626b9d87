// agent.media's actor library over HTTP: the list with its filters, one actor, and each actor's
// portrait, a PNG Kiln draws and serves itself. The library is data compiled into the binary
// (models/dialects/agent_media_actors.hpp); nothing here calls the core's routes.
#include "models/dialects/agent_media_actors.hpp"
#include "http/agent_media_routes.hpp"
#include "http/api.hpp"
#include "http/router.hpp"
#include "models/dialects/agent_media_portrait.hpp"

#include <string>
#include <vector>

namespace kiln::http {
namespace {

using agent_media::actor_catalog;

constexpr std::string_view actors_path = "/api/v1/actors/";

/// "http://HOST" for the Host the client reached, like the core's output URLs.
std::string base_url(const exchange& x) {
  auto host = x.req.header("host");
  return "http://" + std::string(host.empty() ? "127.0.0.1" : host);
}

/// The {slug} of /api/v1/actors/{slug}[/portrait.png], decoded.
std::string slug_of(const exchange& x) {
  auto path = std::string_view(x.req.target).substr(0, x.req.target.find('?'));
  path.remove_prefix(actors_path.size());
  return percent_decode(path.substr(0, path.find('/')));
}

/// 404 actor_not_found with the close slugs inside the error object.
response actor_not_found(std::string_view slug) {
  return enveloped_error(
    404, agent_media::render_actor_not_found(slug, actor_catalog::builtin().suggestions(slug)));
}

/// The library's portraits, drawn and encoded once per process on first use, in library order.
const std::string* portrait_of(std::string_view slug) {
  static const std::vector<std::string> portraits = [] {
    std::vector<std::string> out;
    for (const auto& a : actor_catalog::builtin().actors())
      out.push_back(agent_media::render_portrait(a));
    return out;
  }();
  const auto& actors = actor_catalog::builtin().actors();
  for (std::size_t i = 0; i < actors.size(); ++i)
    if (actors[i].slug == slug) return &portraits[i];
  return nullptr;
}

void list_actors(api& core, const exchange_ptr& x) {
  core.authenticate(x, [x] {
    const auto& target = x->req.target;
    agent_media::actor_filter filter{
      query_param(target, "gender"), query_param(target, "age_range"),
      query_param(target, "actor_type"), query_param(target, "search")};
    auto matches = actor_catalog::builtin().matching(filter);
    x->reply(json_response(200, agent_media::render_actors(matches, base_url(*x))));
  });
}

void get_actor(api& core, const exchange_ptr& x) {
  core.authenticate(x, [x] {
    auto slug = slug_of(*x);
    const auto* found = actor_catalog::builtin().find(slug);
    if (!found) return x->reply(actor_not_found(slug));
    x->reply(json_response(200, agent_media::render_actor_found(*found, base_url(*x))));
  });
}

/// Public like the seed's CDN URL (an <img> sends no key): the same picture for everyone.
void get_portrait(const exchange_ptr& x) {
  auto slug = slug_of(*x);
  const auto* png = portrait_of(slug);
  if (!png) return x->reply(actor_not_found(slug));
  response r;
  r.content_type = "image/png";
  r.body = *png;
  r.headers.emplace_back("Cache-Control", "public, max-age=86400");
  x->reply(std::move(r));
}

}  // namespace

void mount_agent_media_actors(api& core) {
  core.mount(
    "GET", "/api/v1/actors", [&core](const exchange_ptr& x) { list_actors(core, x); }, false);
  core.mount(
    "GET", "/api/v1/actors/{slug}", [&core](const exchange_ptr& x) { get_actor(core, x); }, false);
  core.mount("GET", "/api/v1/actors/{slug}/portrait.png", &get_portrait, false);
}

}  // namespace kiln::http
