// The vocabulary of Kiln's messages: every atom, in one place, so that two families never name
// the same step differently. What each family accepts with them is in its own header here.
#pragma once

#include <caf/atom.hpp>

namespace kiln {

// -- accounts and keys (directory.hpp) --
using auth_atom = caf::atom_constant<caf::atom("auth")>;
using create_account_atom = caf::atom_constant<caf::atom("mkaccount")>;
using get_account_atom = caf::atom_constant<caf::atom("account")>;
using create_key_atom = caf::atom_constant<caf::atom("mkkey")>;
using list_keys_atom = caf::atom_constant<caf::atom("keys")>;
using revoke_key_atom = caf::atom_constant<caf::atom("revokekey")>;

// -- the ledger (account.hpp) --
using submit_atom = caf::atom_constant<caf::atom("submit")>;
using settle_atom = caf::atom_constant<caf::atom("settle")>;
using grant_atom = caf::atom_constant<caf::atom("grant")>;
using estimate_atom = caf::atom_constant<caf::atom("estimate")>;
using balance_atom = caf::atom_constant<caf::atom("balance")>;
using secret_atom = caf::atom_constant<caf::atom("secret")>;
using rotate_atom = caf::atom_constant<caf::atom("rotate")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using bound_atom = caf::atom_constant<caf::atom("bound")>;
using unbound_atom = caf::atom_constant<caf::atom("unbound")>;
using key_done_atom = caf::atom_constant<caf::atom("keydone")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

// -- jobs (job.hpp) --
using get_job_atom = caf::atom_constant<caf::atom("getjob")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using job_done_atom = caf::atom_constant<caf::atom("jobdone")>;
using progress_atom = caf::atom_constant<caf::atom("progress")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;

// -- queries (store.hpp) --
using list_jobs_atom = caf::atom_constant<caf::atom("listjobs")>;
using ledger_atom = caf::atom_constant<caf::atom("ledger")>;
using usage_atom = caf::atom_constant<caf::atom("usage")>;
using events_atom = caf::atom_constant<caf::atom("events")>;
using deliveries_atom = caf::atom_constant<caf::atom("dlvlist")>;

// -- storage (store.hpp) --
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using committed_atom = caf::atom_constant<caf::atom("committed")>;
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;

// -- scheduling and devices (scheduler.hpp, device.hpp) --
using enqueue_atom = caf::atom_constant<caf::atom("enqueue")>;
using dispatch_atom = caf::atom_constant<caf::atom("dispatch")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using withdraw_atom = caf::atom_constant<caf::atom("withdraw")>;
using position_atom = caf::atom_constant<caf::atom("position")>;
using devices_atom = caf::atom_constant<caf::atom("devices")>;
using run_atom = caf::atom_constant<caf::atom("run")>;

// -- webhooks (deliveries.hpp) --
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using redeliver_atom = caf::atom_constant<caf::atom("redeliver")>;
using delete_atom = caf::atom_constant<caf::atom("delete")>;
using restore_atom = caf::atom_constant<caf::atom("restore")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using period_atom = caf::atom_constant<caf::atom("period")>;
using attempted_atom = caf::atom_constant<caf::atom("attempted")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;

// -- Killa's device links (device_link.hpp) --
using link_start_atom = caf::atom_constant<caf::atom("linkstart")>;
using link_status_atom = caf::atom_constant<caf::atom("linkstatus")>;
using link_approve_atom = caf::atom_constant<caf::atom("linkapprov")>;
using link_poll_atom = caf::atom_constant<caf::atom("linkpoll")>;

// -- upload sessions (upload.hpp) --
using upload_create_atom = caf::atom_constant<caf::atom("upcreate")>;
using upload_get_atom = caf::atom_constant<caf::atom("upget")>;
using upload_put_atom = caf::atom_constant<caf::atom("upput")>;

// -- shared by several families --
using register_atom = caf::atom_constant<caf::atom("register")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using write_atom = caf::atom_constant<caf::atom("write")>;

}  // namespace kiln
