// Tests of faultfs (tests/faultfs/faultfs.cpp), the FUSE layer that simulates power cuts: the
// durability rules themselves, SQLite in WAL mode (synchronous=FULL loses no acknowledged commit
// over several cuts; synchronous=OFF, the negative control, does lose some), RocksDB with synced
// writes, and the fault switches (quota, enospc, eio-fsync).
//
// Needs: the faultfs binary (compile definition KILN_FAULTFS), root and /dev/fuse, and linking
// sqlite3 and RocksDB. scripts/test.sh leaves out the tests tagged [faultfs] where /dev/fuse is
// missing.
//
// Writers run in a fresh process (this binary re-executed, see helper_hook) so that `kill -9`
// models a crash, and because forking a process that may already run RocksDB threads is unsafe.
// The cut points are random: each test INFOs its seed, and KILN_TEST_SEED=SEED replays it.
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <sqlite3.h>
#include <catch2/catch.hpp>

#include "tests/support/faultfs_mount.hpp"
#include "tests/support/seed.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

using kiln::test::errno_text;
using kiln::test::faultfs_mount;

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int report_fd = 3;  // where a writer helper reports each acknowledged id

// ---------------------------------------------------------------------------------------------
// Processes and files

/// The seed of a test's random cut points: KILN_TEST_SEED when set (to replay a failure), else a
/// random one. The tests INFO it.

/// Random cut points, from a seed printed to stderr (KILN_TEST_SEED=N replays a run).
std::mt19937 seeded_rng(const char* test_name) {
  return std::mt19937(static_cast<std::uint32_t>(kiln::test::test_seed(test_name)));
}

void write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(errno_text("write"));
    done += n;
  }
}

// Not tests/support's write_file and read_file: this one can fsync (and says why a write failed),
// and read_file tells a missing file (nullopt) from an empty one, which a cut tells apart.
void write_file(const std::string& path, const std::string& data, bool sync) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(errno_text("open " + path));
  std::string error;
  try {
    write_all(fd, data);
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (error.empty() && sync && fsync(fd) != 0) error = errno_text("fsync " + path);
  if (close(fd) != 0 && error.empty()) error = errno_text("close " + path);
  if (!error.empty()) throw std::runtime_error(error);
}

std::optional<std::string> read_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string data;
  char buf[65536];
  ssize_t n = 0;
  while ((n = read(fd, buf, sizeof buf)) > 0) data.append(buf, n);
  close(fd);
  if (n < 0) return std::nullopt;
  return data;
}

bool exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

void fsync_dir(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(errno_text("open dir " + path));
  int rc = fsync(fd);
  int saved = errno;
  close(fd);
  errno = saved;
  if (rc != 0) throw std::runtime_error(errno_text("fsync dir " + path));
}

// ---------------------------------------------------------------------------------------------
// Writer helpers: this binary re-executed with KILN_FAULTFS_HELPER set runs one of these before
// main and reports each acknowledged id (8 bytes) on fd 3, until it is killed.

bool report(int64_t id) {
  return write(report_fd, &id, sizeof id) == static_cast<ssize_t>(sizeof id);
}

bool sqlite_ok(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

int64_t sqlite_max_id(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(id), 0) FROM t", -1, &stmt, nullptr) != 0) {
    return -1;
  }
  int64_t max = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  return max;
}

int sqlite_writer(const std::string& path, const std::string& synchronous) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return 10;
  std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=" + synchronous +
                        "; PRAGMA wal_autocheckpoint=50;";
  if (!sqlite_ok(db, pragmas.c_str())) return 11;
  int64_t id = sqlite_max_id(db);
  sqlite3_stmt* insert = nullptr;
  const char* sql = "INSERT INTO t(id, payload) VALUES(?1, randomblob(300))";
  if (id < 0 || sqlite3_prepare_v2(db, sql, -1, &insert, nullptr) != SQLITE_OK) return 12;
  for (int i = 0; i < 200000; ++i) {
    ++id;
    if (!sqlite_ok(db, "BEGIN")) return 13;
    sqlite3_bind_int64(insert, 1, id);
    if (sqlite3_step(insert) != SQLITE_DONE || sqlite3_reset(insert) != SQLITE_OK) return 14;
    if (!sqlite_ok(db, "COMMIT")) return 15;
    if (!report(id)) return 16;
  }
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return 0;
}

std::string rocksdb_key(int64_t id) {
  char key[32];
  std::snprintf(key, sizeof key, "key%012lld", static_cast<long long>(id));
  return key;
}

int rocksdb_writer(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.write_buffer_size = 64 << 10;  // flushes and compactions while the test runs
  options.target_file_size_base = 256 << 10;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(options, path, &raw).ok()) return 20;
  std::unique_ptr<rocksdb::DB> db(raw);
  int64_t id = 0;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  it->SeekToLast();
  if (it->Valid()) id = std::atoll(it->key().ToString().substr(3).c_str());
  it.reset();
  rocksdb::WriteOptions sync_write;
  sync_write.sync = true;
  std::string value(100, 'v');
  for (int i = 0; i < 200000; ++i) {
    ++id;
    if (!db->Put(sync_write, rocksdb_key(id), value).ok()) return 21;
    if (!report(id)) return 22;
  }
  return db->Close().ok() ? 0 : 23;
}

int run_helper(const std::string& role) {
  const char* path = std::getenv("KILN_FAULTFS_PATH");
  const char* mode = std::getenv("KILN_FAULTFS_MODE");
  if (!path) return 2;
  if (role == "sqlite") return sqlite_writer(path, mode ? mode : "FULL");
  if (role == "rocksdb") return rocksdb_writer(path);
  return 3;
}

__attribute__((constructor)) void helper_hook() {
  const char* role = std::getenv("KILN_FAULTFS_HELPER");
  if (role) _exit(run_helper(role));
}

struct writer_run {
  std::vector<int64_t> reported;
  int exit_signal = 0;  // SIGKILL when we killed it, 0 when it stopped by itself
  int exit_code = 0;
};

pid_t spawn_helper(const std::string& role, const std::string& path, const std::string& mode,
                   int& read_fd) {
  std::vector<std::string> env{"KILN_FAULTFS_HELPER=" + role, "KILN_FAULTFS_PATH=" + path,
                               "KILN_FAULTFS_MODE=" + mode};
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "KILN_FAULTFS_", 13) != 0) env.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(errno_text("pipe2"));
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(errno_text("fork"));
  if (pid == 0) {
    if (dup2(fds[1], report_fd) < 0) _exit(126);
    char* argv[] = {const_cast<char*>("faultfs-writer"), nullptr};
    execve("/proc/self/exe", argv, envp.data());
    _exit(127);
  }
  close(fds[1]);
  read_fd = fds[0];
  return pid;
}

// Ids (8 bytes each) that a writer reported, read from its pipe.
struct report_reader {
  int fd = -1;
  std::vector<int64_t> ids;
  std::string partial;
  bool eof = false;
};

// Reads until there are `min_count` ids, the deadline passes, or the writer closed its end.
void read_reports(report_reader& r, steady::time_point deadline, size_t min_count) {
  while (!r.eof && r.ids.size() < min_count && steady::now() < deadline) {
    pollfd p{r.fd, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    char buf[4096];
    ssize_t n = read(r.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      r.eof = true;
      return;
    }
    r.partial.append(buf, n);
    size_t whole = r.partial.size() / 8 * 8;
    for (size_t i = 0; i < whole; i += 8) {
      int64_t id = 0;
      std::memcpy(&id, r.partial.data() + i, 8);
      r.ids.push_back(id);
    }
    r.partial.erase(0, whole);
  }
}

// Starts a writer, lets it acknowledge at least `min_reports` ids, waits a random moment more,
// kills it with SIGKILL and collects every id it acknowledged.
writer_run run_and_kill(const std::string& role, const std::string& path, const std::string& mode,
                        size_t min_reports, std::mt19937& rng) {
  report_reader r;
  pid_t pid = spawn_helper(role, path, mode, r.fd);
  read_reports(r, steady::now() + std::chrono::seconds(15), min_reports);
  auto extra = milliseconds(std::uniform_int_distribution<int>(0, 300)(rng));
  read_reports(r, steady::now() + extra, SIZE_MAX);
  kill(pid, SIGKILL);
  read_reports(r, steady::now() + std::chrono::seconds(10), SIZE_MAX);  // until EOF
  close(r.fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  writer_run run;
  run.reported = std::move(r.ids);
  run.exit_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
  return run;
}

// ---------------------------------------------------------------------------------------------
// SQLite checks in this process

struct sqlite_db {
  explicit sqlite_db(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
      std::string message = db ? sqlite3_errmsg(db) : "out of memory";
      sqlite3_close(db);
      throw std::runtime_error("sqlite3_open: " + message);
    }
  }
  ~sqlite_db() { sqlite3_close(db); }
  sqlite_db(const sqlite_db&) = delete;
  sqlite_db& operator=(const sqlite_db&) = delete;

  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) == SQLITE_OK) return;
    std::string message = error ? error : "?";
    sqlite3_free(error);
    throw std::runtime_error(sql + ": " + message);
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      throw std::runtime_error(sql + ": " + sqlite3_errmsg(db));
    }
    std::string result;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0)) {
      result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return result;
  }
  size_t count_missing(const std::vector<int64_t>& ids) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM t WHERE id = ?1", -1, &stmt, nullptr) != 0) {
      throw std::runtime_error(sqlite3_errmsg(db));
    }
    size_t missing = 0;
    for (int64_t id : ids) {
      sqlite3_bind_int64(stmt, 1, id);
      if (sqlite3_step(stmt) != SQLITE_ROW) ++missing;
      sqlite3_reset(stmt);
    }
    sqlite3_finalize(stmt);
    return missing;
  }

  sqlite3* db = nullptr;
};

void create_sqlite_db(const faultfs_mount& fs, const std::string& path) {
  {
    sqlite_db db(path);
    db.exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
      "CREATE TABLE t(id INTEGER PRIMARY KEY, payload BLOB)");
  }
  fsync_dir(fs.root());  // SQLite syncs its WAL's directory entry, not the database file's
}

struct cut_outcome {
  size_t reported = 0;
  size_t lost = 0;
  std::string integrity;
  int64_t rows = 0;
};

cut_outcome sqlite_cut_cycle(const faultfs_mount& fs, const std::string& path,
                             const std::string& synchronous, std::mt19937& rng) {
  writer_run run = run_and_kill("sqlite", path, synchronous, 20, rng);
  INFO("writer exit code " << run.exit_code << ", signal " << run.exit_signal);
  REQUIRE(run.exit_signal == SIGKILL);
  fs.ctl("cut");
  sqlite_db db(path);
  cut_outcome out;
  out.reported = run.reported.size();
  out.lost = db.count_missing(run.reported);
  out.integrity = db.text("PRAGMA integrity_check");
  out.rows = std::atoll(db.text("SELECT COUNT(*) FROM t").c_str());
  return out;
}

// ---------------------------------------------------------------------------------------------
// RocksDB checks in this process

size_t rocksdb_missing(const std::string& path, const std::vector<int64_t>& ids) {
  rocksdb::Options options;
  options.paranoid_checks = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &raw);
  INFO("RocksDB open after the cut: " << s.ToString());
  REQUIRE(s.ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  size_t missing = 0;
  std::string value;
  for (int64_t id : ids) {
    if (!db->Get(rocksdb::ReadOptions(), rocksdb_key(id), &value).ok()) ++missing;
  }
  REQUIRE(db->Close().ok());
  return missing;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

TEST_CASE("faultfs: a cut keeps exactly what was fsynced", "[faultfs]") {
  faultfs_mount fs;
  write_file(fs.path("synced"), "durable data", true);
  write_file(fs.path("unsynced"), "volatile data", false);
  write_file(fs.path("overwritten"), "version 1", true);
  write_file(fs.path("moved"), "moved data", true);
  REQUIRE(mkdir(fs.path("sub").c_str(), 0755) == 0);
  fsync_dir(fs.root());

  write_file(fs.path("late"), "created after the directory sync", true);
  write_file(fs.path("sub/inner"), "in a directory never synced", true);
  write_file(fs.path("overwritten"), "version 2, longer and never synced", false);
  REQUIRE(rename(fs.path("moved").c_str(), fs.path("renamed").c_str()) == 0);
  int open_fd = open(fs.path("synced").c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(open_fd >= 0);

  fs.ctl("cut");
  // A handle from before the cut is stale: it can neither read nor resurrect dropped data.
  // (Once the file is opened again, reads on a stale handle may be served from the kernel's
  // page cache, which then holds the durable content.)
  char byte = 0;
  CHECK(read(open_fd, &byte, 1) < 0);
  CHECK(errno == EIO);
  CHECK(write(open_fd, "x", 1) < 0);
  CHECK(errno == EIO);
  CHECK(fsync(open_fd) != 0);
  close(open_fd);

  CHECK(read_file(fs.path("synced")) == "durable data");
  CHECK(read_file(fs.path("unsynced")) == "");  // the entry is durable, the data is not
  CHECK(read_file(fs.path("overwritten")) == "version 1");
  CHECK_FALSE(exists(fs.path("late")));
  CHECK(exists(fs.path("sub")));
  CHECK_FALSE(exists(fs.path("sub/inner")));
  CHECK(read_file(fs.path("moved")) == "moved data");  // the rename was never synced
  CHECK_FALSE(exists(fs.path("renamed")));
}

TEST_CASE("faultfs: renames are durable per directory", "[faultfs]") {
  faultfs_mount fs;
  REQUIRE(mkdir(fs.path("a").c_str(), 0755) == 0);
  REQUIRE(mkdir(fs.path("b").c_str(), 0755) == 0);
  fsync_dir(fs.root());
  write_file(fs.path("a/f"), "payload", true);
  write_file(fs.path("a/g"), "other", true);
  fsync_dir(fs.path("a"));

  REQUIRE(rename(fs.path("a/f").c_str(), fs.path("b/f").c_str()) == 0);
  fsync_dir(fs.path("b"));  // only the target: the source still names the file after a cut
  fs.ctl("cut");
  CHECK(read_file(fs.path("b/f")) == "payload");
  CHECK(read_file(fs.path("a/f")) == "payload");

  // The removal from the source becomes durable with the source's fsync.
  REQUIRE(unlink(fs.path("a/f").c_str()) == 0);
  fsync_dir(fs.path("a"));
  fs.ctl("cut");
  CHECK_FALSE(exists(fs.path("a/f")));
  CHECK(read_file(fs.path("b/f")) == "payload");

  // Within one directory: durable once that directory is synced, undone otherwise.
  REQUIRE(rename(fs.path("a/g").c_str(), fs.path("a/h").c_str()) == 0);
  fsync_dir(fs.path("a"));
  REQUIRE(rename(fs.path("a/h").c_str(), fs.path("a/i").c_str()) == 0);
  fs.ctl("cut");
  CHECK(read_file(fs.path("a/h")) == "other");
  CHECK_FALSE(exists(fs.path("a/g")));
  CHECK_FALSE(exists(fs.path("a/i")));
}

TEST_CASE("faultfs: SQLite WAL with synchronous=FULL loses no acknowledged commit", "[faultfs]") {
  faultfs_mount fs;
  std::string path = fs.path("test.db");
  create_sqlite_db(fs, path);
  auto rng = seeded_rng("faultfs: SQLite FULL");
  size_t reported = 0;
  for (int cut = 0; cut < 6; ++cut) {
    cut_outcome out = sqlite_cut_cycle(fs, path, "FULL", rng);
    INFO("cut " << cut << ": " << out.reported << " commits acknowledged, " << out.rows
                << " rows after the cut");
    CHECK(out.lost == 0);
    CHECK(out.integrity == "ok");
    reported += out.reported;
  }
  CHECK(reported >= 6 * 20);
}

TEST_CASE("faultfs: SQLite with synchronous=OFF loses acknowledged commits (control)",
          "[faultfs]") {
  faultfs_mount fs;
  std::string path = fs.path("test.db");
  create_sqlite_db(fs, path);
  auto rng = seeded_rng("faultfs: SQLite OFF");
  size_t reported = 0;
  size_t lost = 0;
  for (int cut = 0; cut < 3; ++cut) {
    cut_outcome out = sqlite_cut_cycle(fs, path, "OFF", rng);
    reported += out.reported;
    lost += out.lost;
  }
  INFO(reported << " commits acknowledged, " << lost << " lost");
  CHECK(reported > 0);
  CHECK(lost > 0);
}

TEST_CASE("faultfs: RocksDB with synced writes loses no acknowledged put", "[faultfs]") {
  faultfs_mount fs;
  std::string path = fs.path("rocks");
  REQUIRE(mkdir(path.c_str(), 0755) == 0);
  fsync_dir(fs.root());  // RocksDB does not sync the entry of the directory it creates
  auto rng = seeded_rng("faultfs: RocksDB synced");
  for (int cut = 0; cut < 3; ++cut) {
    writer_run run = run_and_kill("rocksdb", path, "", 200, rng);
    INFO("cut " << cut << ": writer exit code " << run.exit_code << ", " << run.reported.size()
                << " puts acknowledged");
    REQUIRE(run.exit_signal == SIGKILL);
    fs.ctl("cut");
    CHECK(rocksdb_missing(path, run.reported) == 0);
  }
}

TEST_CASE("faultfs: quota and enospc make writes fail with ENOSPC until lifted", "[faultfs]") {
  faultfs_mount fs;
  fs.ctl("quota", "65536");
  int fd = open(fs.path("big").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  std::string block(16384, 'q');
  for (int i = 0; i < 4; ++i) REQUIRE(write(fd, block.data(), block.size()) == 16384);
  CHECK(write(fd, block.data(), block.size()) < 0);
  CHECK(errno == ENOSPC);
  CHECK(pwrite(fd, "overwrite", 9, 0) == 9);  // in place: needs no new space
  fs.ctl("quota", "131072");
  CHECK(write(fd, block.data(), block.size()) == 16384);
  fs.ctl("quota", "32768");  // below what is used: growing fails, shrinking frees
  CHECK(write(fd, block.data(), block.size()) < 0);
  REQUIRE(ftruncate(fd, 0) == 0);
  CHECK(pwrite(fd, block.data(), block.size(), 0) == 16384);
  fs.ctl("quota", "0");
  std::string large(1 << 20, 'L');
  CHECK(pwrite(fd, large.data(), large.size(), 0) == static_cast<ssize_t>(large.size()));
  REQUIRE(unlink(fs.path("big").c_str()) == 0);  // open and unlinked: still counted

  fs.ctl("enospc", "on");
  CHECK(write(fd, "x", 1) < 0);
  CHECK(errno == ENOSPC);
  CHECK(ftruncate(fd, 4 << 20) != 0);
  CHECK(open(fs.path("new").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644) < 0);
  CHECK(errno == ENOSPC);
  CHECK(mkdir(fs.path("dir").c_str(), 0755) != 0);
  CHECK(errno == ENOSPC);
  fs.ctl("enospc", "off");
  CHECK(write(fd, "x", 1) == 1);
  CHECK(mkdir(fs.path("dir").c_str(), 0755) == 0);
  close(fd);
  fs.ctl("quota", "1000");  // the unlinked file's space is free once it is closed
  write_file(fs.path("small"), std::string(900, 's'), true);

  std::string stats = fs.ctl("stats");
  CHECK(stats.find("faults_quota 2") != std::string::npos);
  CHECK(stats.find("faults_enospc 4") != std::string::npos);
}

TEST_CASE("faultfs: eio-fsync fails fsync and makes nothing durable", "[faultfs]") {
  faultfs_mount fs;
  write_file(fs.path("x"), "x old", true);
  write_file(fs.path("y"), "y old", true);
  fsync_dir(fs.root());
  int x = open(fs.path("x").c_str(), O_RDWR | O_TRUNC | O_CLOEXEC);
  int y = open(fs.path("y").c_str(), O_RDWR | O_TRUNC | O_CLOEXEC);
  REQUIRE((x >= 0 && y >= 0));
  write_all(x, "x new content");
  write_all(y, "y new content");

  fs.ctl("eio-fsync", "once");
  CHECK(fsync(x) != 0);
  CHECK(errno == EIO);
  CHECK(fdatasync(y) == 0);  // only one fsync fails
  close(x);
  close(y);
  fs.ctl("cut");
  CHECK(read_file(fs.path("x")) == "x old");
  CHECK(read_file(fs.path("y")) == "y new content");

  fs.ctl("eio-fsync", "on");
  write_file(fs.path("z"), "z", false);
  CHECK_THROWS(fsync_dir(fs.root()));
  CHECK_THROWS(write_file(fs.path("x"), "x newer", true));
  fs.ctl("eio-fsync", "off");
  fs.ctl("cut");
  CHECK_FALSE(exists(fs.path("z")));
  CHECK(read_file(fs.path("x")) == "x old");
  CHECK(fs.ctl("stats").find("faults_eio 3") != std::string::npos);

  std::string reply;
  CHECK(fs.ctl_status({"no-such-command"}, reply) != 0);
  CHECK(reply.rfind("error:", 0) == 0);
}

// Not run by default: `kiln_tests "[faultfs-bench]"` prints the rate of small synced appends.
TEST_CASE("faultfs: small appends with fdatasync per second", "[.][faultfs-bench]") {
  faultfs_mount fs;
  int fd = open(fs.path("wal").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  std::string record(200, 'w');
  constexpr int count = 10000;
  auto start = steady::now();
  for (int i = 0; i < count; ++i) {
    REQUIRE(write(fd, record.data(), record.size()) == 200);
    REQUIRE(fdatasync(fd) == 0);
  }
  double seconds = std::chrono::duration<double>(steady::now() - start).count();
  close(fd);
  std::printf("faultfs: %d x (append 200 B + fdatasync) in %.3f s: %.0f per second\n", count,
              seconds, count / seconds);
}
