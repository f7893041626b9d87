// Forked death tests; see the header.
#include "tests/support/death.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>

namespace kiln::test {

death run_to_death(const std::function<void()>& body) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  pid_t child = fork();
  if (child < 0) {
    int error = errno;
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(error));
  }
  if (child == 0) {
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[0]);
    // An exception must not unwind into the copy of the test runner: the child ends here.
    try {
      body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "run_to_death: the body threw: %s\n", e.what());
      std::_Exit(2);
    } catch (...) {
      std::fputs("run_to_death: the body threw\n", stderr);
      std::_Exit(2);
    }
    std::_Exit(0);
  }
  close(pipe_fds[1]);
  death result;
  char buffer[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
    result.stderr_text.append(buffer, static_cast<std::size_t>(n));
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  result.aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  return result;
}

}  // namespace kiln::test
