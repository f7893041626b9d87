// Bridge actors: each runs posted closures in its own context.
#include "http/actor_bridge.hpp"

#include <caf/all.hpp>

namespace kiln {
namespace {
struct bridge_message {
  bridge_task task;
};
}  // namespace
}  // namespace kiln

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::bridge_message)

namespace kiln {

namespace {
thread_local caf::event_based_actor* running_in = nullptr;
}  // namespace

caf::event_based_actor* current_bridge_actor() { return running_in; }

bridge_scope::bridge_scope(caf::event_based_actor* self) : previous_(running_in) {
  running_in = self;
}

bridge_scope::~bridge_scope() { running_in = previous_; }

struct bridge::impl {
  std::vector<caf::actor> actors;
  std::atomic<std::size_t> next{0};
};

bridge::bridge(caf::actor_system& system, std::size_t actor_count) : impl_(new impl) {
  for (std::size_t i = 0; i < actor_count; ++i)
    impl_->actors.push_back(system.spawn([](caf::event_based_actor* self) -> caf::behavior {
      return {[=](bridge_message& message) {
        bridge_scope scope(self);
        message.task(self);
      }};
    }));
}

bridge::~bridge() { stop(); }

void bridge::post(bridge_task task) {
  auto index = impl_->next.fetch_add(1, std::memory_order_relaxed) % impl_->actors.size();
  caf::anon_send(impl_->actors[index], bridge_message{std::move(task)});
}

void bridge::stop() {
  for (auto& actor : impl_->actors) caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  impl_->actors.clear();
}

}  // namespace kiln
