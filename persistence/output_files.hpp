// Where job outputs live on disk: `files/<shard>/<name>`, the shard being the last two
// characters of the job id (random in every id), so concurrent devices do not all contend on one
// directory and all outputs of a job share one.
#pragma once

#include <caf/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kiln::output_files {

/// True for names this store hands out: no path separators, no dot-dot, not empty.
bool is_valid_name(std::string_view name);
std::string path_of(const std::string& files_dir, std::string_view name);
/// Writes `bytes` under `name` (durable_fs::write_file; a new shard directory is made durable at
/// once). With `durable` its data is fsynced, and it survives a power cut once sync() has synced
/// its shard: a job's outputs all share one shard, so one sync after the last makes them all
/// durable, and the job's success, committed after that, never points at a missing or empty
/// file. Blocks on fsync: call it from a thread of its own, never from the actors' scheduler.
caf::error write(const std::string& files_dir, std::string_view name, std::string_view bytes,
                 bool durable);
/// fsync of the shard directory holding `name`: the names written there so far are durable.
caf::error sync(const std::string& files_dir, std::string_view name);
std::optional<std::string> read(const std::string& files_dir, std::string_view name);
/// Deletes the stored output `name` and fsyncs its shard directory, so that the deletion
/// survives a power cut before the record that says so is written. A file (or shard) that is
/// not there is no error: output retention deletes again after a crash. Blocks on fsync.
caf::error remove(const std::string& files_dir, std::string_view name);
/// The size of a stored output, without reading it; nullopt when there is none.
std::optional<std::uint64_t> size(const std::string& files_dir, std::string_view name);

/// The file name of output `index` of `job_id`, its extension from `content_type`; a file of
/// another role than "primary" (a thumbnail) has it in its name: "job_...-0-thumbnail.png".
std::string name_for(std::string_view job_id, std::uint32_t index, std::string_view content_type,
                     std::string_view role = {});
/// The content type a stored output is served with, from its name's extension.
std::string_view content_type_of(std::string_view name);

}  // namespace kiln::output_files
