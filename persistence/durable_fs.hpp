// Files and directories that survive a power cut. A file's data is durable once the file is
// fsynced; its name once the directory holding it is fsynced; a new directory once its parent
// is. Kiln writes each output file to a temporary name, fsyncs it, renames it into place and,
// once all of a job's outputs are there, fsyncs their directory before the job's success is
// committed; fsyncs the parent of every
// directory it creates (the data directory, db/, files/ and each shard of files/), and fsyncs
// every file and directory of a restored database before `kiln admin restore` reports it.
#pragma once

#include <caf/error.hpp>

#include <string>
#include <string_view>

namespace kiln::durable_fs {

/// Creates `path` and its missing parents, fsyncing the parent of each directory it creates.
caf::error create_directories(const std::string& path);

/// fsync of a directory: makes its entries (created, renamed, removed files) durable.
caf::error sync_directory(const std::string& path);

/// fsync of every file and directory under `path`, of `path` and of its parent: makes a tree
/// that was just copied (e.g. a restored database) durable under its name.
caf::error sync_tree(const std::string& path);

/// Writes `bytes` to `directory`/`name` through a temporary file in the same directory and a
/// rename, so readers never see a partial file under `name`. With `sync` the data is fsynced
/// before the rename, and the file survives a power cut, with all its bytes, once `directory`
/// is synced (sync_directory: once for several files written there).
caf::error write_file(const std::string& directory, std::string_view name, std::string_view bytes,
                      bool sync);

/// Moves the finished file `from` (written by someone else, e.g. a streamed upload) to
/// `directory`/`name` on the same file system: with `sync` its data is fsynced before the rename
/// and `directory` after it, so the file survives a power cut under its new name on return.
caf::error adopt_file(const std::string& from, const std::string& directory, std::string_view name,
                      bool sync);

}  // namespace kiln::durable_fs
