// Files and directories that survive a power cut. A file's data is durable once the file is
// fsynced; its name once the directory holding it is fsynced; a new directory once its parent
// is. Kiln writes each output file to a temporary name, fsyncs it, renames it into place and
// fsyncs the directory before the job's success is committed, and fsyncs the parent of every
// directory it creates (the data directory, db/, files/ and each shard of files/).
#pragma once

#include <caf/error.hpp>

#include <string>
#include <string_view>

namespace kiln::durable_fs {

/// Creates `path` and its missing parents, fsyncing the parent of each directory it creates.
caf::error create_directories(const std::string& path);

/// fsync of a directory: makes its entries (created, renamed, removed files) durable.
caf::error sync_directory(const std::string& path);

/// Writes `bytes` to `directory`/`name` so that once this returns without error the file, with
/// all its bytes, survives a power cut: a temporary file in the same directory, fsync, rename,
/// fsync of `directory`. Readers never see a partial file under `name`.
caf::error write_file(const std::string& directory, std::string_view name, std::string_view bytes);

}  // namespace kiln::durable_fs
