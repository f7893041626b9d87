// faultfs: a test-only FUSE filesystem that simulates power cuts and disk faults.
//
// Why: Kiln promises that an acknowledged job survives a crash. Killing the server alone cannot
// test that, because the kernel page cache outlives the process; only a power cut drops data
// that was written but never made durable. faultfs (in the spirit of Jepsen's LazyFS) keeps a
// whole filesystem in memory with two views of every inode:
//   * the volatile view, what programs see: every write, create, rename, ... lands there at once;
//   * the durable view, what a disk would hold after a power cut under strict POSIX rules:
//     a file's data and size become durable only when that file is fsync'ed or fdatasync'ed,
//     and a directory entry (create, mknod, mkdir, unlink, rmdir, rename, link, symlink) only
//     when the directory that holds it is fsync'ed.
// `faultfs ctl SOCKET cut` replaces the volatile view by the durable one: the tree reachable from
// the root through durable directory tables, each file with its durable data. Open handles from
// before a cut go stale (their operations fail with EIO). Further switches make the "disk" fail:
// ENOSPC on every allocation, a byte quota, and EIO from fsync. Modes, owners and timestamps are
// durable at once (a simplification). See tests/faultfs/README.md.
//
// Build: g++ -std=c++20 -O2 faultfs.cpp $(pkg-config --cflags --libs fuse3) -o faultfs
// (CMakeLists.txt builds it as the `faultfs` target and keeps it out of the test binary.)

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace {

constexpr size_t max_name_length = 255;
constexpr uint64_t max_file_size = uint64_t{4} << 30;       // far above any test; avoids bad_alloc
constexpr uint64_t unlimited_capacity = uint64_t{1} << 40;  // what statfs shows without quota
constexpr uint64_t no_dirty = UINT64_MAX;

// One file, directory, symlink or special file, in both views.
struct inode {
  fuse_ino_t ino = 0;
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  dev_t rdev = 0;
  timespec atime{};
  timespec mtime{};
  timespec ctime{};
  std::string data;              // volatile contents (regular files)
  std::string durable_data;      // contents as of the last successful fsync
  uint64_t dirty_lo = no_dirty;  // bytes [dirty_lo, dirty_hi) may differ from durable_data
  uint64_t dirty_hi = 0;
  std::map<std::string, fuse_ino_t> entries;          // volatile directory table
  std::map<std::string, fuse_ino_t> durable_entries;  // table as of the last fsyncdir
  std::set<std::string> dirty_names;  // names whose entry changed since the last fsyncdir
  std::string target;                 // symlink target (durable at creation)
  fuse_ino_t parent = 0;              // volatile parent of a directory, for ".."
  uint64_t lookups = 0;               // references the kernel holds (lookup minus forget)
  uint32_t links = 0;                 // volatile entries that name this inode
  uint32_t durable_links = 0;         // durable entries that name this inode
  uint32_t subdirs = 0;               // volatile subdirectories, for st_nlink
  uint32_t opens = 0;                 // current (non-stale) open handles
  bool dead = false;                  // dropped by a cut; kept only until the kernel forgets it
};

struct dir_item {
  std::string name;
  fuse_ino_t ino = 0;
  mode_t mode = 0;
};

struct open_handle {
  fuse_ino_t ino = 0;
  uint64_t epoch = 0;  // handles from before the last cut are stale
  bool append = false;
  std::vector<dir_item> listing;  // readdir snapshot, taken at offset 0
};

struct counters {
  uint64_t fsyncs = 0;
  uint64_t fsyncdirs = 0;
  uint64_t bytes_written = 0;
  uint64_t bytes_synced = 0;
  uint64_t cuts = 0;
  uint64_t enospc_faults = 0;
  uint64_t quota_faults = 0;
  uint64_t eio_faults = 0;
};

enum class eio_mode { off, on, once };

// The whole state; every operation holds `mutex` while it touches it.
struct filesystem {
  std::mutex mutex;
  std::unordered_map<fuse_ino_t, std::unique_ptr<inode>> inodes;
  std::unordered_map<uint64_t, open_handle> handles;
  std::vector<fuse_ino_t> gc_queue;
  fuse_ino_t next_ino = FUSE_ROOT_ID + 1;
  uint64_t next_fh = 1;
  uint64_t epoch = 0;
  uint64_t volatile_bytes = 0;  // sum of volatile file sizes (what the quota limits)
  counters stats;
  bool enospc = false;
  uint64_t quota = 0;
  eio_mode eio = eio_mode::off;
  fuse_session* session = nullptr;
  int ready_fd = -1;  // background mode: the pipe that tells the parent we are ready
};

filesystem g_fs;

timespec now() {
  timespec t{};
  if (clock_gettime(CLOCK_REALTIME, &t) != 0) return timespec{};
  return t;
}

// ---------------------------------------------------------------------------------------------
// Inode bookkeeping

inode* find_inode(fuse_ino_t ino) {
  auto it = g_fs.inodes.find(ino);
  return it == g_fs.inodes.end() ? nullptr : it->second.get();
}

inode* live_inode(fuse_ino_t ino) {
  inode* n = find_inode(ino);
  return n && !n->dead ? n : nullptr;
}

// A directory that can still hold entries (not dropped by a cut, not removed).
inode* usable_dir(fuse_ino_t ino) {
  inode* n = live_inode(ino);
  if (!n || !S_ISDIR(n->mode)) return nullptr;
  return n->links > 0 || ino == FUSE_ROOT_ID ? n : nullptr;
}

bool handle_ok(const fuse_file_info* fi) {
  if (!fi) return true;
  auto it = g_fs.handles.find(fi->fh);
  return it != g_fs.handles.end() && it->second.epoch == g_fs.epoch;
}

inode& new_inode(fuse_req_t req, mode_t mode) {
  auto n = std::make_unique<inode>();
  n->ino = g_fs.next_ino++;
  n->mode = mode;
  const fuse_ctx* ctx = fuse_req_ctx(req);
  n->uid = ctx ? ctx->uid : 0;
  n->gid = ctx ? ctx->gid : 0;
  n->atime = n->mtime = n->ctime = now();
  inode& ref = *n;
  g_fs.inodes.emplace(ref.ino, std::move(n));
  g_fs.gc_queue.push_back(ref.ino);  // freed again if the operation fails to link it
  return ref;
}

void make_root() {
  auto root = std::make_unique<inode>();
  root->ino = FUSE_ROOT_ID;
  root->mode = S_IFDIR | 0755;
  root->parent = FUSE_ROOT_ID;
  root->atime = root->mtime = root->ctime = now();
  g_fs.inodes.emplace(FUSE_ROOT_ID, std::move(root));
}

void drop_volatile_data(inode& n) {
  g_fs.volatile_bytes -= n.data.size();
  std::string().swap(n.data);
  n.dirty_lo = no_dirty;
  n.dirty_hi = 0;
}

// Frees what nobody can reach any more: no volatile or durable entry, no kernel reference.
void collect_one(fuse_ino_t ino) {
  auto it = g_fs.inodes.find(ino);
  if (it == g_fs.inodes.end() || ino == FUSE_ROOT_ID) return;
  inode& n = *it->second;
  if (n.dead) {
    if (n.lookups == 0) g_fs.inodes.erase(it);
    return;
  }
  if (n.links > 0 || n.opens > 0) return;
  drop_volatile_data(n);  // no name and no handle: nobody can read it before a cut
  if (n.lookups > 0 || n.durable_links > 0) return;
  for (const auto& [name, child] : n.durable_entries) {
    if (inode* c = find_inode(child)) {
      c->durable_links--;
      g_fs.gc_queue.push_back(child);
    }
  }
  g_fs.inodes.erase(it);
}

void run_gc() {
  while (!g_fs.gc_queue.empty()) {
    fuse_ino_t ino = g_fs.gc_queue.back();
    g_fs.gc_queue.pop_back();
    collect_one(ino);
  }
}

struct stat make_stat(const inode& n) {
  struct stat st {};
  st.st_ino = n.ino;
  st.st_mode = n.mode;
  bool dir = S_ISDIR(n.mode);
  bool linked = n.links > 0 || n.ino == FUSE_ROOT_ID;
  st.st_nlink = dir ? (linked ? 2 + n.subdirs : 0) : n.links;
  st.st_uid = n.uid;
  st.st_gid = n.gid;
  st.st_rdev = n.rdev;
  st.st_size = S_ISLNK(n.mode) ? n.target.size() : dir ? 4096 : n.data.size();
  st.st_blksize = 4096;
  st.st_blocks = (st.st_size + 511) / 512;
  st.st_atim = n.atime;
  st.st_mtim = n.mtime;
  st.st_ctim = n.ctime;
  return st;
}

fuse_entry_param make_entry(const inode& n) {
  fuse_entry_param e{};
  e.ino = n.ino;
  e.generation = 1;  // inode numbers are never reused
  e.attr = make_stat(n);
  e.attr_timeout = 0.0;  // the kernel must ask again: a cut may change anything
  e.entry_timeout = 0.0;
  return e;
}

void link_entry(inode& dir, const std::string& name, inode& child) {
  dir.entries[name] = child.ino;
  dir.dirty_names.insert(name);
  child.links++;
  if (S_ISDIR(child.mode)) {
    dir.subdirs++;
    child.parent = dir.ino;
  }
  dir.mtime = dir.ctime = now();
}

void unlink_entry(inode& dir, const std::string& name) {
  auto it = dir.entries.find(name);
  if (it == dir.entries.end()) return;
  inode* child = find_inode(it->second);
  dir.entries.erase(it);
  dir.dirty_names.insert(name);
  dir.mtime = dir.ctime = now();
  if (!child) return;
  child->links--;
  child->ctime = now();
  if (S_ISDIR(child->mode)) dir.subdirs--;
  g_fs.gc_queue.push_back(child->ino);
}

uint64_t open_handle_for(inode& n, int flags) {
  uint64_t fh = g_fs.next_fh++;
  open_handle h;
  h.ino = n.ino;
  h.epoch = g_fs.epoch;
  h.append = (flags & O_APPEND) != 0;
  g_fs.handles.emplace(fh, std::move(h));
  n.opens++;
  return fh;
}

void close_handle(uint64_t fh) {
  auto it = g_fs.handles.find(fh);
  if (it == g_fs.handles.end()) return;
  if (it->second.epoch == g_fs.epoch) {
    if (inode* n = find_inode(it->second.ino)) {
      n->opens--;
      g_fs.gc_queue.push_back(n->ino);
    }
  }
  g_fs.handles.erase(it);
}

// ---------------------------------------------------------------------------------------------
// File data in both views

void mark_dirty(inode& n, uint64_t lo, uint64_t hi) {
  if (lo >= hi) return;
  n.dirty_lo = std::min(n.dirty_lo, lo);
  n.dirty_hi = std::max(n.dirty_hi, hi);
}

void resize_data(inode& n, uint64_t size) {
  uint64_t old = n.data.size();
  if (size == old) return;
  mark_dirty(n, std::min(old, size), std::max(old, size));
  n.data.resize(size);
  g_fs.volatile_bytes = g_fs.volatile_bytes - old + size;
}

// ENOSPC when the disk is "full" or when growing `n` to `new_size` would pass the quota.
int check_space(const inode& n, uint64_t new_size) {
  if (g_fs.enospc) {
    g_fs.stats.enospc_faults++;
    return ENOSPC;
  }
  if (g_fs.quota == 0 || new_size <= n.data.size()) return 0;
  if (g_fs.volatile_bytes + (new_size - n.data.size()) <= g_fs.quota) return 0;
  g_fs.stats.quota_faults++;
  return ENOSPC;
}

int check_create() {
  if (!g_fs.enospc) return 0;
  g_fs.stats.enospc_faults++;
  return ENOSPC;
}

// Copies what changed since the last sync into the durable copy: O(changed bytes).
void sync_file(inode& n) {
  n.durable_data.resize(n.data.size());
  uint64_t hi = std::min<uint64_t>(n.dirty_hi, n.data.size());
  if (n.dirty_lo < hi) {
    std::memcpy(n.durable_data.data() + n.dirty_lo, n.data.data() + n.dirty_lo, hi - n.dirty_lo);
    g_fs.stats.bytes_synced += hi - n.dirty_lo;
  }
  n.dirty_lo = no_dirty;
  n.dirty_hi = 0;
}

void set_durable_entry(inode& dir, const std::string& name, fuse_ino_t target) {
  auto old = dir.durable_entries.find(name);
  fuse_ino_t before = old == dir.durable_entries.end() ? 0 : old->second;
  if (before == target) return;
  if (inode* b = find_inode(before)) {
    b->durable_links--;
    g_fs.gc_queue.push_back(before);
  }
  if (target == 0) {
    dir.durable_entries.erase(name);
    return;
  }
  dir.durable_entries[name] = target;
  if (inode* t = find_inode(target)) t->durable_links++;
}

// Makes the directory's current entries durable: O(names changed since the last fsyncdir).
void sync_dir(inode& dir) {
  for (const std::string& name : dir.dirty_names) {
    auto it = dir.entries.find(name);
    set_durable_entry(dir, name, it == dir.entries.end() ? 0 : it->second);
  }
  dir.dirty_names.clear();
}

int fsync_fault() {
  if (g_fs.eio == eio_mode::off) return 0;
  if (g_fs.eio == eio_mode::once) g_fs.eio = eio_mode::off;
  g_fs.stats.eio_faults++;
  return EIO;
}

// ---------------------------------------------------------------------------------------------
// The power cut

// What the kernel may have cached that a cut changed; sent after the lock is released.
struct cut_notes {
  std::vector<fuse_ino_t> inodes;
  std::vector<std::pair<fuse_ino_t, std::string>> entries;
};

// Inodes reachable from the root through durable tables. A directory reachable through more
// than one durable entry (a rename synced on one side only) keeps the first one found.
std::unordered_set<fuse_ino_t> durable_reachable() {
  std::unordered_set<fuse_ino_t> seen{FUSE_ROOT_ID};
  std::vector<fuse_ino_t> queue{FUSE_ROOT_ID};
  for (size_t i = 0; i < queue.size(); ++i) {
    inode& dir = *g_fs.inodes.at(queue[i]);
    for (auto it = dir.durable_entries.begin(); it != dir.durable_entries.end();) {
      inode* child = live_inode(it->second);
      bool is_dir = child && S_ISDIR(child->mode);
      if (!child || (is_dir && seen.count(child->ino) > 0)) {
        it = dir.durable_entries.erase(it);
        continue;
      }
      if (seen.insert(child->ino).second && is_dir) queue.push_back(child->ino);
      ++it;
    }
  }
  return seen;
}

void restore_durable(inode& n) {
  n.data = n.durable_data;
  n.dirty_lo = no_dirty;
  n.dirty_hi = 0;
  n.entries = n.durable_entries;
  n.dirty_names.clear();
  n.links = n.durable_links = n.subdirs = n.opens = 0;
  n.parent = n.ino == FUSE_ROOT_ID ? FUSE_ROOT_ID : 0;
}

void mark_dead(inode& n) {
  n.dead = true;
  std::string().swap(n.data);
  std::string().swap(n.durable_data);
  n.entries.clear();
  n.durable_entries.clear();
  n.dirty_names.clear();
  n.links = n.durable_links = n.subdirs = n.opens = 0;
}

void recount_links(const std::unordered_set<fuse_ino_t>& reachable) {
  g_fs.volatile_bytes = 0;
  for (fuse_ino_t ino : reachable) {
    inode& n = *g_fs.inodes.at(ino);
    g_fs.volatile_bytes += n.data.size();
    for (const auto& [name, child_ino] : n.entries) {
      inode& child = *g_fs.inodes.at(child_ino);
      child.links++;
      child.durable_links++;
      if (S_ISDIR(child.mode)) {
        n.subdirs++;
        child.parent = n.ino;
      }
    }
  }
}

void note_changed_entries(fuse_ino_t dir, const std::map<std::string, fuse_ino_t>& before,
                          cut_notes& notes) {
  const inode* n = find_inode(dir);
  static const std::map<std::string, fuse_ino_t> empty;
  const auto& after = n && !n->dead ? n->entries : empty;
  for (const auto& [name, ino] : before) {
    auto it = after.find(name);
    if (it == after.end() || it->second != ino) notes.entries.emplace_back(dir, name);
  }
  for (const auto& [name, ino] : after) {
    if (before.count(name) == 0) notes.entries.emplace_back(dir, name);
  }
}

cut_notes cut_power() {
  cut_notes notes;
  std::map<fuse_ino_t, std::map<std::string, fuse_ino_t>> cached_dirs;
  for (const auto& [ino, n] : g_fs.inodes) {
    if (n->lookups > 0 || ino == FUSE_ROOT_ID) notes.inodes.push_back(ino);
    if (S_ISDIR(n->mode) && !n->dead && (n->lookups > 0 || ino == FUSE_ROOT_ID)) {
      cached_dirs.emplace(ino, n->entries);
    }
  }
  std::unordered_set<fuse_ino_t> reachable = durable_reachable();
  g_fs.epoch++;  // every open handle is stale from now on
  for (auto& [ino, n] : g_fs.inodes) {
    if (reachable.count(ino) > 0) {
      restore_durable(*n);
    } else {
      mark_dead(*n);
    }
  }
  recount_links(reachable);
  for (const auto& [dir, before] : cached_dirs) note_changed_entries(dir, before, notes);
  std::erase_if(g_fs.inodes,
                [](const auto& kv) { return kv.second->dead && kv.second->lookups == 0; });
  g_fs.gc_queue.clear();
  g_fs.stats.cuts++;
  return notes;
}

void send_cut_notes(const cut_notes& notes) {
  for (const auto& [dir, name] : notes.entries) {
    int rc = fuse_lowlevel_notify_inval_entry(g_fs.session, dir, name.c_str(), name.size());
    if (rc != 0 && rc != -ENOENT) {
      std::fprintf(stderr, "faultfs: inval_entry %s: %s\n", name.c_str(), std::strerror(-rc));
    }
  }
  for (fuse_ino_t ino : notes.inodes) {
    int rc = fuse_lowlevel_notify_inval_inode(g_fs.session, ino, 0, 0);
    if (rc != 0 && rc != -ENOENT) {
      std::fprintf(stderr, "faultfs: inval_inode %lu: %s\n", static_cast<unsigned long>(ino),
                   std::strerror(-rc));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// FUSE operations

// Runs an operation that replies itself; an exception (only bad_alloc is expected) becomes an
// error reply, never an exception through libfuse's C frames.
template <typename F>
void guarded(fuse_req_t req, F&& body) noexcept {
  try {
    body();
  } catch (const std::bad_alloc&) {
    fuse_reply_err(req, ENOMEM);
  } catch (...) {
    fuse_reply_err(req, EIO);
  }
}

// Runs an operation that returns 0 or an errno, and replies with that status.
template <typename F>
void status_op(fuse_req_t req, F&& body) noexcept {
  guarded(req, [&] {
    int err = body();
    fuse_reply_err(req, err);
  });
}

void reply_entry(fuse_req_t req, inode& n) {
  fuse_entry_param e = make_entry(n);
  n.lookups++;
  if (fuse_reply_entry(req, &e) != 0) n.lookups--;
  g_fs.gc_queue.push_back(n.ino);
  run_gc();
}

void announce_ready() {
  if (g_fs.ready_fd >= 0) {
    char byte = 'R';
    if (write(g_fs.ready_fd, &byte, 1) != 1) std::perror("faultfs: ready pipe");
    if (close(g_fs.ready_fd) != 0) std::perror("faultfs: close ready pipe");
    g_fs.ready_fd = -1;
    return;
  }
  std::printf("faultfs ready\n");
  if (std::fflush(stdout) != 0) std::perror("faultfs: stdout");
}

void op_init(void*, fuse_conn_info* conn) {
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;  // every write must reach us at once
  conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;   // O_TRUNC arrives as a setattr
  announce_ready();
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  guarded(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    inode* dir = live_inode(parent);
    if (!dir) return (void)fuse_reply_err(req, ENOENT);
    if (!S_ISDIR(dir->mode)) return (void)fuse_reply_err(req, ENOTDIR);
    if (std::strlen(name) > max_name_length) return (void)fuse_reply_err(req, ENAMETOOLONG);
    auto it = dir->entries.find(name);
    if (it == dir->entries.end()) return (void)fuse_reply_err(req, ENOENT);
    reply_entry(req, *g_fs.inodes.at(it->second));
  });
}

void forget_one(fuse_ino_t ino, uint64_t count) {
  inode* n = find_inode(ino);
  if (!n) return;
  n->lookups -= std::min(count, n->lookups);
  g_fs.gc_queue.push_back(ino);
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  try {
    std::lock_guard lock(g_fs.mutex);
    forget_one(ino, nlookup);
    run_gc();
  } catch (...) {
    // Only bad_alloc can get here; the inode is collected by a later operation.
  }
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  try {
    std::lock_guard lock(g_fs.mutex);
    for (size_t i = 0; i < count; ++i) forget_one(forgets[i].ino, forgets[i].nlookup);
    run_gc();
  } catch (...) {
    // As in op_forget.
  }
  fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  guarded(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    inode* n = live_inode(ino);
    if (!n) return (void)fuse_reply_err(req, ESTALE);
    struct stat st = make_stat(*n);
    fuse_reply_attr(req, &st, 0.0);
  });
}

int truncate_to(inode& n, off_t size) {
  if (S_ISDIR(n.mode)) return EISDIR;
  if (!S_ISREG(n.mode)) return EINVAL;
  if (size < 0) return EINVAL;
  if (static_cast<uint64_t>(size) > max_file_size) return EFBIG;
  if (static_cast<uint64_t>(size) > n.data.size()) {
    if (int err = check_space(n, size)) return err;
  }
  resize_data(n, size);
  n.mtime = n.ctime = now();
  return 0;
}

void apply_times(inode& n, const struct stat& attr, int to_set) {
  timespec t = now();
  if (to_set & FUSE_SET_ATTR_ATIME) n.atime = attr.st_atim;
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) n.atime = t;
  if (to_set & FUSE_SET_ATTR_MTIME) n.mtime = attr.st_mtim;
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) n.mtime = t;
  n.ctime = (to_set & FUSE_SET_ATTR_CTIME) ? attr.st_ctim : t;
}

int set_attributes(inode& n, const struct stat& attr, int to_set) {
  if (to_set & FUSE_SET_ATTR_SIZE) {
    if (int err = truncate_to(n, attr.st_size)) return err;
  }
  if (to_set & FUSE_SET_ATTR_MODE) n.mode = (n.mode & S_IFMT) | (attr.st_mode & 07777);
  if (to_set & FUSE_SET_ATTR_UID) n.uid = attr.st_uid;
  if (to_set & FUSE_SET_ATTR_GID) n.gid = attr.st_gid;
  apply_times(n, attr, to_set);
  return 0;
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  guarded(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    inode* n = live_inode(ino);
    if (!n) return (void)fuse_reply_err(req, ESTALE);
    if (!handle_ok(fi)) return (void)fuse_reply_err(req, EIO);
    if (int err = set_attributes(*n, *attr, to_set)) return (void)fuse_reply_err(req, err);
    struct stat st = make_stat(*n);
    fuse_reply_attr(req, &st, 0.0);
  });
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  guarded(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    inode* n = live_inode(ino);
    if (!n) return (void)fuse_reply_err(req, ESTALE);
    if (!S_ISLNK(n->mode)) return (void)fuse_reply_err(req, EINVAL);
    fuse_reply_readlink(req, n->target.c_str());
  });
}

// Checks that `name` can be created in `parent`; sets `dir` on success.
int prepare_create(fuse_ino_t parent, const char* name, inode*& dir) {
  dir = usable_dir(parent);
  if (!dir) return ENOENT;
  if (std::strlen(name) > max_name_length) return ENAMETOOLONG;
  if (dir->entries.count(name) > 0) return EEXIST;
  return check_create();
}

// Creates a node of any kind under parent and replies with its entry.
void create_node(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev,
                 const char* target) {
  guarded(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    inode* dir = nullptr;
    if (int err = prepare_create(parent, name, dir)) return (void)fuse_reply_err(req, err);
    inode& n = new_inode(req, mode);
    n.rdev = rdev;
    if (target) n.target = target;
    link_entry(*dir, name, n);
    reply_entry(req, n);
  });
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  create_node(req, parent, name, mode, rdev, nullptr);
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  create_node(req, parent, name, S_IFDIR | (mode & 07777), 0, nullptr);
}

void op_symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  create_node(req, parent, name, S_IFLNK | 0777, 0, link);
}

int remove_entry(fuse_ino_t parent, const char* name, bool want_dir) {
  inode* dir = live_inode(parent);
  if (!dir || !S_ISDIR(dir->mode)) return ENOENT;
  auto it = dir->entries.find(name);
  if (it == dir->entries.end()) return ENOENT;
  const inode& child = *g_fs.inodes.at(it->second);
  if (want_dir && !S_ISDIR(child.mode)) return ENOTDIR;
  if (!want_dir && S_ISDIR(child.mode)) return EISDIR;
  if (want_dir && !child.entries.empty()) return ENOTEMPTY;
  unlink_entry(*dir, name);
  run_gc();
  return 0;
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  status_op(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    return remove_entry(parent, name, false);
  });
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  status_op(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    return remove_entry(parent, name, true);
  });
}

// True when `ancestor` is `dir` or one of its (volatile) parents.
bool is_ancestor(fuse_ino_t ancestor, fuse_ino_t dir) {
  for (size_t steps = 0; steps <= g_fs.inodes.size(); ++steps) {
    if (dir == ancestor) return true;
    if (dir == FUSE_ROOT_ID) return false;
    const inode* n = find_inode(dir);
    if (!n || n->parent == 0) return false;
    dir = n->parent;
  }
  return false;
}

void move_dir_parent(inode& child, inode& from, inode& to) {
  if (!S_ISDIR(child.mode)) return;
  from.subdirs--;
  to.subdirs++;
  child.parent = to.ino;
}

int exchange(inode& from, const std::string& name, inode& to, const std::string& new_name) {
  inode& s = *g_fs.inodes.at(from.entries.at(name));
  auto d_it = to.entries.find(new_name);
  if (d_it == to.entries.end()) return ENOENT;
  inode& d = *g_fs.inodes.at(d_it->second);
  if (S_ISDIR(s.mode) && is_ancestor(s.ino, to.ino)) return EINVAL;
  if (S_ISDIR(d.mode) && is_ancestor(d.ino, from.ino)) return EINVAL;
  from.entries[name] = d.ino;
  to.entries[new_name] = s.ino;
  from.dirty_names.insert(name);
  to.dirty_names.insert(new_name);
  if (&from != &to) {
    move_dir_parent(s, from, to);
    move_dir_parent(d, to, from);
  }
  from.mtime = from.ctime = to.mtime = to.ctime = s.ctime = d.ctime = now();
  return 0;
}

int check_replace(const inode& s, const inode& d) {
  if (S_ISDIR(s.mode) && !S_ISDIR(d.mode)) return ENOTDIR;
  if (!S_ISDIR(s.mode) && S_ISDIR(d.mode)) return EISDIR;
  if (S_ISDIR(d.mode) && !d.entries.empty()) return ENOTEMPTY;
  return 0;
}

int do_rename(fuse_ino_t parent, const std::string& name, fuse_ino_t new_parent,
              const std::string& new_name, unsigned flags) {
  if (flags & ~unsigned{RENAME_NOREPLACE | RENAME_EXCHANGE}) return EINVAL;
  inode* from = live_inode(parent);
  inode* to = usable_dir(new_parent);
  if (!from || !to || !S_ISDIR(from->mode)) return ENOENT;
  if (new_name.size() > max_name_length) return ENAMETOOLONG;
  auto src = from->entries.find(name);
  if (src == from->entries.end()) return ENOENT;
  if (flags & RENAME_EXCHANGE) return exchange(*from, name, *to, new_name);
  inode& s = *g_fs.inodes.at(src->second);
  auto dst = to->entries.find(new_name);
  inode* d = dst == to->entries.end() ? nullptr : g_fs.inodes.at(dst->second).get();
  if (d && (flags & RENAME_NOREPLACE)) return EEXIST;
  if (d == &s) return 0;
  if (S_ISDIR(s.mode) && is_ancestor(s.ino, to->ino)) return EINVAL;
  if (d) {
    if (int err = check_replace(s, *d)) return err;
    unlink_entry(*to, new_name);
  }
  unlink_entry(*from, name);
  link_entry(*to, new_name, s);
  s.ctime = now();
  run_gc();
  return 0;
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
               const char* new_name, unsigned int flags) {
  status_op(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    return do_rename(parent, name, new_parent, new_name, flags);
  });
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name) {
  guarded(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    inode* n = live_inode(ino);
    inode* dir = nullptr;
    if (!n) return (void)fuse_reply_err(req, ENOENT);
    if (S_ISDIR(n->mode)) return (void)fuse_reply_err(req, EPERM);
    dir = usable_dir(new_parent);
    if (!dir) return (void)fuse_reply_err(req, ENOENT);
    if (std::strlen(new_name) > max_name_length) return (void)fuse_reply_err(req, ENAMETOOLONG);
    if (dir->entries.count(new_name) > 0) return (void)fuse_reply_err(req, EEXIST);
    link_entry(*dir, new_name, *n);
    n->ctime = now();
    reply_entry(req, *n);
  });
}

void reply_opened(fuse_req_t req, inode& n, fuse_file_info* fi) {
  fi->fh = open_handle_for(n, fi->flags);
  fi->keep_cache = 0;  // drop the kernel's page cache on every open
  fi->direct_io = 0;   // keep mmap working (SQLite maps its -shm file)
  if (fuse_reply_open(req, fi) != 0) close_handle(fi->fh);
  run_gc();
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    inode* n = live_inode(ino);
    if (!n) return (void)fuse_reply_err(req, ESTALE);
    if (S_ISDIR(n->mode)) return (void)fuse_reply_err(req, EISDIR);
    reply_opened(req, *n, fi);
  });
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
               fuse_file_info* fi) {
  guarded(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    inode* dir = nullptr;
    if (int err = prepare_create(parent, name, dir)) return (void)fuse_reply_err(req, err);
    inode& n = new_inode(req, S_IFREG | (mode & 07777));
    link_entry(*dir, name, n);
    fi->fh = open_handle_for(n, fi->flags);
    fi->keep_cache = 0;
    fi->direct_io = 0;
    fuse_entry_param e = make_entry(n);
    n.lookups++;
    if (fuse_reply_create(req, &e, fi) != 0) {
      n.lookups--;
      close_handle(fi->fh);
    }
    run_gc();
  });
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  guarded(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    inode* n = live_inode(ino);
    if (!n || !handle_ok(fi)) return (void)fuse_reply_err(req, EIO);
    if (off < 0) return (void)fuse_reply_err(req, EINVAL);
    uint64_t start = std::min<uint64_t>(off, n->data.size());
    size_t count = std::min<uint64_t>(size, n->data.size() - start);
    fuse_reply_buf(req, n->data.data() + start, count);
  });
}

int write_data(inode& n, const char* buf, size_t size, uint64_t off) {
  uint64_t end = off + size;
  if (end > max_file_size) return EFBIG;
  if (int err = check_space(n, end)) return err;
  if (end > n.data.size()) resize_data(n, end);
  std::memcpy(n.data.data() + off, buf, size);
  mark_dirty(n, off, end);
  n.mtime = n.ctime = now();
  g_fs.stats.bytes_written += size;
  return 0;
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
              fuse_file_info* fi) {
  guarded(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    inode* n = live_inode(ino);
    if (!n || !handle_ok(fi)) return (void)fuse_reply_err(req, EIO);
    if (off < 0) return (void)fuse_reply_err(req, EINVAL);
    if (size == 0) return (void)fuse_reply_write(req, 0);
    bool append = g_fs.handles.at(fi->fh).append;
    uint64_t at = append ? n->data.size() : static_cast<uint64_t>(off);
    if (int err = write_data(*n, buf, size, at)) return (void)fuse_reply_err(req, err);
    fuse_reply_write(req, size);
  });
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  status_op(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    return handle_ok(fi) ? 0 : EIO;
  });
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  status_op(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    close_handle(fi->fh);
    run_gc();
    return 0;
  });
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info* fi) {
  status_op(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    inode* n = live_inode(ino);
    if (!n || !handle_ok(fi)) return EIO;
    if (int err = fsync_fault()) return err;
    sync_file(*n);
    g_fs.stats.fsyncs++;
    return 0;
  });
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  guarded(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    inode* n = live_inode(ino);
    if (!n) return (void)fuse_reply_err(req, ESTALE);
    if (!S_ISDIR(n->mode)) return (void)fuse_reply_err(req, ENOTDIR);
    reply_opened(req, *n, fi);
  });
}

std::vector<dir_item> list_dir(const inode& dir) {
  std::vector<dir_item> items;
  items.reserve(dir.entries.size() + 2);
  items.push_back({".", dir.ino, S_IFDIR});
  items.push_back({"..", dir.parent ? dir.parent : dir.ino, S_IFDIR});
  for (const auto& [name, ino] : dir.entries) {
    items.push_back({name, ino, g_fs.inodes.at(ino)->mode});
  }
  return items;
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  guarded(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    inode* dir = live_inode(ino);
    if (!dir || !handle_ok(fi)) return (void)fuse_reply_err(req, EIO);
    open_handle& h = g_fs.handles.at(fi->fh);
    if (off == 0) h.listing = list_dir(*dir);
    std::vector<char> buf(size);
    size_t used = 0;
    for (size_t i = std::max<off_t>(off, 0); i < h.listing.size(); ++i) {
      struct stat st {};
      st.st_ino = h.listing[i].ino;
      st.st_mode = h.listing[i].mode;
      size_t need = fuse_add_direntry(req, buf.data() + used, size - used,
                                      h.listing[i].name.c_str(), &st, i + 1);
      if (need > size - used) break;
      used += need;
    }
    fuse_reply_buf(req, buf.data(), used);
  });
}

void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info* fi) {
  status_op(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    inode* dir = live_inode(ino);
    if (!dir || !handle_ok(fi)) return EIO;
    if (int err = fsync_fault()) return err;
    sync_dir(*dir);
    g_fs.stats.fsyncdirs++;
    run_gc();
    return 0;
  });
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  guarded(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    struct statvfs sv {};
    uint64_t capacity = g_fs.quota ? g_fs.quota : unlimited_capacity;
    uint64_t used = (g_fs.volatile_bytes + 4095) / 4096;
    sv.f_bsize = sv.f_frsize = 4096;
    sv.f_blocks = capacity / 4096;
    sv.f_bfree = sv.f_bavail = g_fs.enospc || used >= sv.f_blocks ? 0 : sv.f_blocks - used;
    sv.f_files = uint64_t{1} << 32;
    sv.f_ffree = sv.f_favail = sv.f_files - g_fs.inodes.size();
    sv.f_namemax = max_name_length;
    fuse_reply_statfs(req, &sv);
  });
}

int do_fallocate(inode& n, int mode, off_t off, off_t len) {
  constexpr int supported = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE;
  if (mode & ~supported) return EOPNOTSUPP;
  if (!S_ISREG(n.mode)) return ENODEV;
  if (off < 0 || len <= 0) return EINVAL;
  uint64_t end = static_cast<uint64_t>(off) + static_cast<uint64_t>(len);
  if (end > max_file_size) return EFBIG;
  if (g_fs.enospc) return check_space(n, end);
  if (!(mode & FALLOC_FL_KEEP_SIZE) && end > n.data.size()) {
    if (int err = check_space(n, end)) return err;
    resize_data(n, end);
  }
  if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
    uint64_t hi = std::min<uint64_t>(end, n.data.size());
    if (static_cast<uint64_t>(off) < hi) {
      std::memset(n.data.data() + off, 0, hi - off);
      mark_dirty(n, off, hi);
    }
  }
  n.mtime = n.ctime = now();
  return 0;
}

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
                  fuse_file_info* fi) {
  status_op(req, [&] {
    std::lock_guard lock(g_fs.mutex);
    inode* n = live_inode(ino);
    if (!n || !handle_ok(fi)) return EIO;
    return do_fallocate(*n, mode, off, len);
  });
}

fuse_lowlevel_ops make_ops() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.getattr = op_getattr;
  ops.setattr = op_setattr;
  ops.readlink = op_readlink;
  ops.mknod = op_mknod;
  ops.mkdir = op_mkdir;
  ops.unlink = op_unlink;
  ops.rmdir = op_rmdir;
  ops.symlink = op_symlink;
  ops.rename = op_rename;
  ops.link = op_link;
  ops.open = op_open;
  ops.create = op_create;
  ops.read = op_read;
  ops.write = op_write;
  ops.flush = op_flush;
  ops.release = op_release;
  ops.fsync = op_fsync;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.releasedir = op_release;
  ops.fsyncdir = op_fsyncdir;
  ops.statfs = op_statfs;
  ops.fallocate = op_fallocate;
  return ops;
}

// ---------------------------------------------------------------------------------------------
// The control socket

std::string stats_text() {
  const counters& s = g_fs.stats;
  uint64_t durable_bytes = 0;
  for (const auto& [ino, n] : g_fs.inodes) durable_bytes += n->durable_data.size();
  const char* eio = g_fs.eio == eio_mode::on ? "on" : g_fs.eio == eio_mode::once ? "once" : "off";
  char text[1024];
  int len = std::snprintf(
    text, sizeof text,
    "fsyncs %llu\nfsyncdirs %llu\nbytes_written %llu\nbytes_synced %llu\n"
    "bytes_volatile %llu\nbytes_durable %llu\ninodes %zu\nopen_handles %zu\ncuts %llu\n"
    "faults_injected %llu\nfaults_enospc %llu\nfaults_quota %llu\nfaults_eio %llu\n"
    "enospc %s\nquota %llu\neio_fsync %s\n",
    (unsigned long long)s.fsyncs, (unsigned long long)s.fsyncdirs,
    (unsigned long long)s.bytes_written, (unsigned long long)s.bytes_synced,
    (unsigned long long)g_fs.volatile_bytes, (unsigned long long)durable_bytes, g_fs.inodes.size(),
    g_fs.handles.size(), (unsigned long long)s.cuts,
    (unsigned long long)(s.enospc_faults + s.quota_faults + s.eio_faults),
    (unsigned long long)s.enospc_faults, (unsigned long long)s.quota_faults,
    (unsigned long long)s.eio_faults, g_fs.enospc ? "on" : "off", (unsigned long long)g_fs.quota,
    eio);
  return std::string(text, len > 0 ? std::min<size_t>(len, sizeof text - 1) : 0);
}

std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    size_t start = line.find_first_not_of(" \t\r\n", i);
    if (start == std::string::npos) break;
    size_t end = line.find_first_of(" \t\r\n", start);
    if (end == std::string::npos) end = line.size();
    words.push_back(line.substr(start, end - start));
    i = end;
  }
  return words;
}

bool parse_u64(const std::string& text, uint64_t& value) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  value = v;
  return true;
}

std::string command_cut() {
  cut_notes notes;
  {
    std::lock_guard lock(g_fs.mutex);
    notes = cut_power();
  }
  send_cut_notes(notes);  // outside the lock: the kernel may call back into us
  return "ok\n";
}

std::string command_switch(const std::vector<std::string>& words) {
  std::lock_guard lock(g_fs.mutex);
  const std::string& what = words[0];
  const std::string arg = words.size() == 2 ? words[1] : "";
  if (what == "enospc" && (arg == "on" || arg == "off")) {
    g_fs.enospc = arg == "on";
    return "ok\n";
  }
  if (what == "eio-fsync" && (arg == "on" || arg == "off" || arg == "once")) {
    g_fs.eio = arg == "on" ? eio_mode::on : arg == "once" ? eio_mode::once : eio_mode::off;
    return "ok\n";
  }
  uint64_t bytes = 0;
  if (what == "quota" && parse_u64(arg, bytes)) {
    g_fs.quota = bytes;
    return "ok\n";
  }
  return "error: bad argument for " + what + "\n";
}

std::string run_command(const std::string& line) {
  std::vector<std::string> words = split_words(line);
  if (words.empty()) return "error: empty command\n";
  const std::string& what = words[0];
  if (words.size() == 1 && what == "cut") return command_cut();
  if (words.size() == 1 && what == "stats") {
    std::lock_guard lock(g_fs.mutex);
    return stats_text();
  }
  if (words.size() == 1 && what == "ping") return "ok\n";
  if (words.size() == 2 && (what == "enospc" || what == "eio-fsync" || what == "quota")) {
    return command_switch(words);
  }
  return "error: unknown command '" + line.substr(0, line.find('\n')) +
         "' (try cut, stats, enospc on|off, quota BYTES, eio-fsync on|off|once)\n";
}

bool write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += n;
  }
  return true;
}

// Reads until end of stream or a newline (when stop_at_newline), at most 64 KiB.
bool read_reply(int fd, std::string& out, bool stop_at_newline) {
  char buf[4096];
  while (out.size() < 65536) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buf, n);
    if (stop_at_newline && out.find('\n') != std::string::npos) return true;
  }
  return true;
}

void set_timeout(int fd, int option, int seconds) {
  timeval tv{};
  tv.tv_sec = seconds;
  if (setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv) != 0) {
    std::perror("faultfs: setsockopt");
  }
}

void serve_client(int fd) noexcept {
  set_timeout(fd, SO_RCVTIMEO, 5);
  set_timeout(fd, SO_SNDTIMEO, 5);
  try {
    std::string line;
    if (!read_reply(fd, line, true)) return;
    std::string reply;
    try {
      reply = run_command(line);
    } catch (const std::exception& e) {
      reply = std::string("error: ") + e.what() + "\n";
    }
    if (!write_all(fd, reply)) std::perror("faultfs: control reply");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "faultfs: control command: %s\n", e.what());
  }
}

void control_loop(int listen_fd, const std::atomic<bool>& stop) {
  while (!stop.load()) {
    pollfd p{listen_fd, POLLIN, 0};
    int rc = poll(&p, 1, 200);
    if (rc < 0 && errno != EINTR) {
      std::perror("faultfs: poll");
      return;
    }
    if (rc <= 0) continue;
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    serve_client(fd);
    if (close(fd) != 0) std::perror("faultfs: close control connection");
  }
}

bool make_address(const std::string& path, sockaddr_un& addr) {
  addr = sockaddr_un{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    std::fprintf(stderr, "faultfs: socket path too long (max %zu): %s\n", sizeof addr.sun_path - 1,
                 path.c_str());
    return false;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  return true;
}

int open_control_socket(const std::string& path) {
  sockaddr_un addr{};
  if (!make_address(path, addr)) return -1;
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    std::perror("faultfs: unlink old control socket");
    return -1;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("faultfs: socket");
    return -1;
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 16) != 0) {
    std::perror("faultfs: bind/listen control socket");
    if (close(fd) != 0) std::perror("faultfs: close");
    return -1;
  }
  return fd;
}

// Starts the control thread with every signal blocked, so signals reach the FUSE main thread.
std::thread start_control_thread(int listen_fd, const std::atomic<bool>& stop) {
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  int rc = pthread_sigmask(SIG_BLOCK, &all, &old);
  std::thread t(control_loop, listen_fd, std::cref(stop));
  if (rc == 0 && pthread_sigmask(SIG_SETMASK, &old, nullptr) != 0) {
    std::perror("faultfs: pthread_sigmask");
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Command line

struct mount_options {
  std::string mountpoint;
  std::string socket;
  bool foreground = false;
  bool single_thread = false;
  bool debug = false;
};

const char* const main_help =
  "faultfs: a test-only FUSE filesystem that simulates power cuts and disk faults.\n"
  "It keeps all data in memory; data reaches the simulated disk only through fsync\n"
  "(file data) and fsync of a directory (its entries). 'cut' drops everything else.\n"
  "\n"
  "usage: faultfs mount MOUNTPOINT --control SOCKET [--foreground] [--single-thread]\n"
  "       faultfs ctl SOCKET COMMAND [ARG]\n"
  "       faultfs --help | faultfs mount --help | faultfs ctl --help\n";

const char* const mount_help =
  "usage: faultfs mount MOUNTPOINT --control SOCKET [options]\n"
  "Mounts an empty faultfs on MOUNTPOINT and listens for commands on the Unix socket\n"
  "SOCKET. Prints 'faultfs ready' on stdout once the mount is usable. Unmounts on\n"
  "SIGTERM or SIGINT. Needs root (or fusermount3).\n"
  "  --control SOCKET   path of the control socket (replaced if it exists)\n"
  "  --foreground       stay in the foreground (default: detach once ready)\n"
  "  --single-thread    serve FUSE requests on one thread\n"
  "  --debug            print every FUSE request (libfuse -d)\n";

const char* const ctl_help =
  "usage: faultfs ctl SOCKET COMMAND [ARG]\n"
  "Sends one command to a mounted faultfs and prints its reply; exits 0 unless the\n"
  "reply is an error or the socket cannot be reached.\n"
  "  cut                    power cut: only what was fsync'ed survives; open files go stale\n"
  "  enospc on|off          every write, create, mkdir, growing truncate, fallocate: ENOSPC\n"
  "  quota BYTES            ENOSPC when file data would exceed BYTES in all (0: no quota)\n"
  "  eio-fsync on|off|once  fsync, fdatasync and directory fsync fail with EIO (once: the\n"
  "                         next one only); a failed fsync makes nothing durable\n"
  "  stats                  counters: fsyncs, bytes written/synced, inodes, faults, ...\n";

bool is_help(const char* arg) {
  return std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-h") == 0;
}

int usage_error(const char* message, const char* help) {
  std::fprintf(stderr, "faultfs: %s\n%s", message, help);
  return 2;
}

int parse_mount_args(int argc, char** argv, mount_options& o) {
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (is_help(argv[i])) {
      std::fputs(mount_help, stdout);
      return 1;
    }
    if (arg == "--control" && i + 1 < argc) {
      o.socket = argv[++i];
    } else if (arg == "--foreground" || arg == "-f") {
      o.foreground = true;
    } else if (arg == "--single-thread" || arg == "-s") {
      o.single_thread = true;
    } else if (arg == "--debug" || arg == "-d") {
      o.debug = true;
    } else if (!arg.empty() && arg[0] != '-' && o.mountpoint.empty()) {
      o.mountpoint = arg;
    } else {
      return usage_error(("unexpected argument: " + arg).c_str(), mount_help);
    }
  }
  if (o.mountpoint.empty() || o.socket.empty()) {
    return usage_error("mount needs MOUNTPOINT and --control SOCKET", mount_help);
  }
  return 0;
}

// Background mode: the parent waits until the child's filesystem is ready, then exits.
// Returns -1 in the child, or the exit status for the parent.
int detach() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::perror("faultfs: pipe");
    return 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("faultfs: fork");
    return 1;
  }
  if (pid == 0) {
    if (close(fds[0]) != 0) std::perror("faultfs: close");
    if (setsid() < 0) std::perror("faultfs: setsid");
    g_fs.ready_fd = fds[1];
    return -1;
  }
  if (close(fds[1]) != 0) std::perror("faultfs: close");
  char byte = 0;
  ssize_t n = 0;
  do {
    n = read(fds[0], &byte, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) {
    std::fprintf(stderr, "faultfs: the filesystem did not start\n");
    return 1;
  }
  std::printf("faultfs ready\n");
  return std::fflush(stdout) == 0 ? 0 : 1;
}

void quiet_stdio() {
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    std::perror("faultfs: /dev/null");
    return;
  }
  if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0) std::perror("faultfs: dup2");
  if (close(fd) != 0) std::perror("faultfs: close");
}

fuse_session* new_session(const mount_options& o, const fuse_lowlevel_ops& ops) {
  fuse_args args = FUSE_ARGS_INIT(0, nullptr);
  bool ok = fuse_opt_add_arg(&args, "faultfs") == 0 && fuse_opt_add_arg(&args, "-o") == 0 &&
            fuse_opt_add_arg(&args, "fsname=faultfs,subtype=faultfs,default_permissions") == 0;
  if (ok && o.debug) ok = fuse_opt_add_arg(&args, "-d") == 0;
  fuse_session* se = ok ? fuse_session_new(&args, &ops, sizeof ops, nullptr) : nullptr;
  fuse_opt_free_args(&args);
  return se;
}

int serve(fuse_session* se, const mount_options& o, int listen_fd) {
  std::atomic<bool> stop{false};
  std::thread control = start_control_thread(listen_fd, stop);
  int rc = 0;
  if (o.single_thread) {
    rc = fuse_session_loop(se);
  } else {
    fuse_loop_config config{};
    config.clone_fd = 0;
    config.max_idle_threads = 10;
    rc = fuse_session_loop_mt(se, &config);
  }
  stop.store(true);
  control.join();
  return rc;
}

int run_mount(const mount_options& o, int listen_fd) {
  make_root();
  fuse_lowlevel_ops ops = make_ops();
  fuse_session* se = new_session(o, ops);
  if (!se) return 1;
  g_fs.session = se;
  int status = 1;
  if (fuse_set_signal_handlers(se) == 0) {
    if (fuse_session_mount(se, o.mountpoint.c_str()) == 0) {
      int rc = serve(se, o, listen_fd);
      fuse_session_unmount(se);
      status = rc < 0 ? 1 : 0;  // a positive rc is the signal that stopped us
    }
    fuse_remove_signal_handlers(se);
  }
  fuse_session_destroy(se);
  return status;
}

int mount_main(int argc, char** argv) {
  mount_options o;
  if (int rc = parse_mount_args(argc, argv, o)) return rc == 1 ? 0 : rc;
  int listen_fd = open_control_socket(o.socket);
  if (listen_fd < 0) return 1;
  if (!o.foreground) {
    int rc = detach();
    if (rc >= 0) return rc;
    quiet_stdio();
  }
  int status = run_mount(o, listen_fd);
  if (close(listen_fd) != 0) std::perror("faultfs: close control socket");
  if (unlink(o.socket.c_str()) != 0) std::perror("faultfs: unlink control socket");
  return status;
}

int connect_control(const std::string& path) {
  sockaddr_un addr{};
  if (!make_address(path, addr)) return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("faultfs ctl: socket");
    return -1;
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "faultfs ctl: connect %s: %s\n", path.c_str(), std::strerror(errno));
    if (close(fd) != 0) std::perror("faultfs ctl: close");
    return -1;
  }
  return fd;
}

int ctl_main(int argc, char** argv) {
  if (argc >= 3 && is_help(argv[2])) {
    std::fputs(ctl_help, stdout);
    return 0;
  }
  if (argc < 4 || argc > 5) return usage_error("ctl needs SOCKET COMMAND [ARG]", ctl_help);
  std::string line = argv[3];
  if (argc == 5) line += std::string(" ") + argv[4];
  int fd = connect_control(argv[2]);
  if (fd < 0) return 2;
  set_timeout(fd, SO_RCVTIMEO, 60);
  std::string reply;
  bool ok =
    write_all(fd, line + "\n") && shutdown(fd, SHUT_WR) == 0 && read_reply(fd, reply, false);
  if (close(fd) != 0) std::perror("faultfs ctl: close");
  if (!ok || reply.empty()) {
    std::fprintf(stderr, "faultfs ctl: no reply from %s\n", argv[2]);
    return 2;
  }
  std::fputs(reply.c_str(), stdout);
  return reply.rfind("error:", 0) == 0 ? 1 : 0;
}

int dispatch(int argc, char** argv) {
  if (argc < 2 || is_help(argv[1])) {
    std::fputs(main_help, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::string command = argv[1];
  if (command == "mount") return mount_main(argc, argv);
  if (command == "ctl") return ctl_main(argc, argv);
  return usage_error(("unknown subcommand: " + command).c_str(), main_help);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return dispatch(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "faultfs: %s\n", e.what());
    return 1;
  }
}
