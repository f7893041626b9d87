// What every protocol header needs: the atoms, CAF's typed-actor vocabulary, the error
// convention, and the domain values that travel in messages between local actors.
//
// Messages never leave the process, so their types are marked CAF_ALLOW_UNSAFE_MESSAGE_TYPE
// (no serialization) here, each exactly once.
#pragma once

#include "models/account.hpp"
#include "models/error.hpp"
#include "models/idempotency.hpp"
#include "models/job.hpp"
#include "models/job_event.hpp"
#include "models/ledger.hpp"
#include "models/webhook.hpp"
#include "protocol/atoms.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include <vector>

namespace kiln {

/// How internal hops wait on an actor that always answers and whose death ends the process
/// (store writer, directory): without a timer. CAF 0.17 keeps every request timer until it fires
/// (about 130 bytes each); three per submit held about 100 MB at 15k submits/s and fragmented the
/// heap under the jobs. The client-facing request at the bridge keeps its deadline, so a missing
/// answer still becomes a 503, never a hang.
inline constexpr caf::infinite_t supervised_wait = caf::infinite;

}  // namespace kiln

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::job_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::job_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::account)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::api_key)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<kiln::api_key>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::account_created)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::key_created)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::balance)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::ledger_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::idempotency_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::delivery)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<kiln::delivery>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<kiln::job_event>)
